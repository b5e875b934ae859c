"""IR metrics through ranx, plus the small conversions our retrievers need (ranked lists -> runs, TREC files).

Runs are built from ranked lists with strictly decreasing scores derived from the rank, so ranx
evaluates exactly the order the retriever returned (fused or MMR-reordered scores are not comparable
across modes and may tie).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from kernel.errors import MesochatError

METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10")
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100)

Qrels = Mapping[str, Mapping[str, int]]
RunDict = Mapping[str, Mapping[str, float]]


def _ranx():
    # numba warns about an int cast inside ranx's ndcg kernel; it is harmless for binary relevance.
    warnings.filterwarnings("ignore", module="ranx")
    warnings.filterwarnings("ignore", message=".*unsafe cast.*")
    try:
        from numba.core.errors import NumbaTypeSafetyWarning

        warnings.filterwarnings("ignore", category=NumbaTypeSafetyWarning)
    except ImportError:  # pragma: no cover - numba ships with ranx
        pass
    import ranx

    return ranx


def ranked_run(ranked: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """{query: [doc ids best first]} -> {query: {doc id: score}} with score = n - rank (duplicates dropped)."""
    run: dict[str, dict[str, float]] = {}
    for qid, ids in ranked.items():
        unique = list(dict.fromkeys(ids))
        run[qid] = {doc: float(len(unique) - i) for i, doc in enumerate(unique)}
    return run


def _ranx_pair(qrels: Qrels, run: RunDict):
    ranx = _ranx()
    qrels = {q: {d: int(r) for d, r in rels.items()} for q, rels in qrels.items() if rels}
    if not qrels:
        raise MesochatError("no question has a resolved relevant passage; check the eval set against the index")
    # ranx cannot hold an empty ranking; a query that retrieved nothing still counts (as all zeros).
    run = {q: dict(docs) for q, docs in run.items() if q in qrels and docs}
    if not run:
        run = {next(iter(qrels)): {"__nothing__": 0.0}}
    q = ranx.Qrels(qrels)
    return q, ranx.Run(run).make_comparable(q)


def evaluate(qrels: Qrels, run: RunDict, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """Mean of each metric over every query in ``qrels`` (missing queries score 0)."""
    ranx = _ranx()
    q, r = _ranx_pair(qrels, run)
    scores = ranx.evaluate(q, r, list(metrics))
    if isinstance(scores, float) or not isinstance(scores, dict):  # one metric -> a bare number
        scores = {metrics[0]: scores}
    return {m: float(scores[m]) for m in metrics}


def per_query(qrels: Qrels, run: RunDict, metrics: Sequence[str] = METRICS) -> dict[str, dict[str, float]]:
    """{query: {metric: value}} for every query in ``qrels``."""
    ranx = _ranx()
    q, r = _ranx_pair(qrels, run)
    ranx.evaluate(q, r, list(metrics))
    out: dict[str, dict[str, float]] = {qid: {} for qid in qrels if qrels[qid]}
    for m in metrics:
        for qid, value in r.scores[m].items():
            if qid in out:
                out[qid][m] = float(value)
    return out


def recall_curve(qrels: Qrels, run: RunDict, ks: Sequence[int] = CURVE_KS) -> dict[int, float]:
    names = [f"recall@{k}" for k in ks]
    scores = evaluate(qrels, run, names)
    return {k: scores[name] for k, name in zip(ks, names)}


def write_trec_run(run: RunDict, path: str | Path, tag: str) -> Path:
    """TREC run format: ``qid Q0 docid rank score tag``, ranks from 1 in score order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for qid in sorted(run):
        ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.extend(f"{qid} Q0 {doc} {i} {score:.6f} {tag}" for i, (doc, score) in enumerate(ranked, 1))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path


def read_trec_run(path: str | Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, _, doc, _rank, score, _tag = line.split()
            run.setdefault(qid, {})[doc] = float(score)
    return run
