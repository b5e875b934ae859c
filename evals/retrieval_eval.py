"""Retrieval evaluation on the review sets: every mode on the same questions, chunk-level qrels resolved
from record ids and quoted spans, ranx metrics, TREC run files, a Recall@k plot and the misses.

Unanswerable questions have no relevant passage and are left out of retrieval metrics (they are scored
by the answer evaluation, as abstentions).

Modes: ``bm25``, ``dense``, ``hybrid`` (name-blind) and ``hybrid-named``: hybrid told which records the
question names, as the query analyser finds them (``assistant.understand.query.QueryAnalyzer``, names,
synonyms, code names, first authors; ``assistant.retrieve.retrieval.named_records``).
The v2 retrieval sets (``retrieval-v2-*``, ``evals.retrieval_v2``) are judged at record-and-field level:
graded qrels and field metrics (``hit_rate@5-l2``: the chunk holding the asked field in the top 5).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals import metrics as M
from evals.sets import SET_VERSION, EvalItem, Resolver, load_set, set_path
from kernel.errors import MesochatError

MODES = ("bm25", "dense", "hybrid", "hybrid-named")
NAMED = "hybrid-named"  # hybrid with the named record ids passed to the retriever
MISS_K = 5  # a question is a miss in a mode when a relevant chunk is not in that mode's top 5


@dataclass
class Miss:
    qid: str
    question: str
    category: str
    first_relevant_rank: int | None  # 1-based rank of the best relevant chunk, None if not in the top k
    missing: list[str]  # relevant chunk ids not in the top MISS_K
    top: list[str]  # the top MISS_K chunk ids actually returned

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class ModeResult:
    mode: str
    metrics: dict[str, float]
    curve: dict[int, float]
    per_query: dict[str, dict[str, float]]
    misses: list[Miss]
    latency_ms: dict[str, float]
    run_file: str | None = None

    def to_dict(self, with_per_query: bool = False) -> dict[str, Any]:
        d = {
            "metrics": self.metrics,
            "recall_curve": {str(k): v for k, v in self.curve.items()},
            "latency_ms": self.latency_ms,
            "misses": [m.to_dict() for m in self.misses],
            "run_file": self.run_file,
        }
        if with_per_query:
            d["per_query"] = self.per_query
        return d


@dataclass
class RetrievalReport:
    set_name: str
    k: int
    n_questions: int
    n_excluded_unanswerable: int
    unresolved: list[str]
    modes: dict[str, ModeResult] = field(default_factory=dict)
    plot: str | None = None
    index_hash: str | None = None
    version: str = SET_VERSION
    metric_names: tuple[str, ...] = M.METRICS

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": self.set_name,
            "version": self.version,
            "k": self.k,
            "n_questions": self.n_questions,
            "n_excluded_unanswerable": self.n_excluded_unanswerable,
            "unresolved": self.unresolved,
            "index_manifest_hash": self.index_hash,
            "plot": self.plot,
            "metrics": list(self.metric_names),
            "modes": {m: r.to_dict() for m, r in self.modes.items()},
        }


def parse_modes(modes: str | list[str] | tuple[str, ...]) -> list[str]:
    items = [m.strip().lower() for m in (modes.split(",") if isinstance(modes, str) else modes) if m.strip()]
    bad = [m for m in items if m not in MODES]
    if bad or not items:
        raise MesochatError(f"unknown retrieval mode {', '.join(bad) or '(none)'}; use a comma list of {', '.join(MODES)}")
    return list(dict.fromkeys(items))


def run_file_path(template: str | Path | None, default_dir: Path, set_name: str, mode: str) -> Path:
    """One TREC file per mode: a directory gets ``<set>.<mode>.trec``; a file name gets the mode inserted."""
    if template is None:
        return default_dir / f"{set_name}.{mode}.trec"
    path = Path(template)
    if path.is_dir() or not path.suffix:
        return path / f"{set_name}.{mode}.trec"
    return path.with_name(f"{path.stem}.{mode}{path.suffix}")


def open_retriever(settings: Any) -> tuple[Any, Any]:
    """(index, retriever) for the data directory in ``settings``; a missing index is a one-line error."""
    import indexing
    from assistant.retrieve.retrieval import Retriever

    index = indexing.open_index(settings)
    if not index.chunks:
        raise MesochatError(f"the index in {settings.paths.home} is empty; run `mesochat index --home {settings.paths.home}` first")
    return index, Retriever(index)


def named_ids(analyzer: Any, question: str, config: Any = None) -> tuple[str, ...]:
    """The record ids ``question`` names, by the query analyser (what assistant.api passes the retriever;
    ``config``: the retriever's RetrievalConfig)."""
    from assistant.retrieve.retrieval import named_records

    return named_records(analyzer.analyze(question), config)


def retrieve_all(retriever: Any, items: list[Any], mode: str, k: int, analyzer: Any = None
                 ) -> tuple[dict[str, list[str]], list[float]]:
    """Ranked chunk ids per item; ``hybrid-named`` times the analyser too (it is part of the query path)."""
    ranked, latencies = {}, []
    if mode == NAMED and analyzer is None:
        from assistant.understand.query import QueryAnalyzer

        analyzer = QueryAnalyzer.from_corpus()
    for item in items:
        t0 = time.perf_counter()
        if mode == NAMED:
            named = named_ids(analyzer, item.question, retriever.config)
            hits = retriever.retrieve(item.question, k=k, mode="hybrid", named=named)
        else:
            hits = retriever.retrieve(item.question, k=k, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked[item.id] = [h.chunk.id for h in hits]
    return ranked, latencies


def _misses(items: list[EvalItem], qrels: dict[str, dict[str, int]], ranked: dict[str, list[str]]) -> list[Miss]:
    out = []
    for item in items:
        relevant = qrels.get(item.id)
        if not relevant:
            continue
        ids = ranked.get(item.id, [])
        top = ids[:MISS_K]
        missing = [c for c in relevant if c not in top]
        if missing:
            ranks = [i for i, c in enumerate(ids, 1) if c in relevant]
            out.append(Miss(item.id, item.question, item.category, ranks[0] if ranks else None, missing, top))
    return out


def _field_misses(items: list[Any], qrels: dict[str, dict[str, int]], ranked: dict[str, list[str]]) -> list[Miss]:
    """v2 retrieval: a miss when no chunk holding the asked field (grade 2) is in the top MISS_K."""
    out = []
    for item in items:
        best = [c for c, g in qrels.get(item.id, {}).items() if g >= 2]
        ids = ranked.get(item.id, [])
        if best and not set(best) & set(ids[:MISS_K]):
            ranks = [i for i, c in enumerate(ids, 1) if c in best]
            out.append(Miss(item.id, item.question, item.category, ranks[0] if ranks else None, best, ids[:MISS_K]))
    return out


def _latency_summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2)}


def evaluate_retrieval(
    settings: Any,
    set_name: str = "review-test",
    modes: str | list[str] = MODES,
    k: int = 100,
    run_file: str | Path | None = None,
    plot_path: str | Path | None = None,
    retriever: Any = None,
    index: Any = None,
) -> RetrievalReport:
    if k < 1:
        raise MesochatError(f"--k must be at least 1 (got {k})")
    from evals import retrieval_v2

    modes = parse_modes(modes)
    v2 = retrieval_v2.is_retrieval_v2(set_name)
    items = retrieval_v2.load(set_name) if v2 else load_set(set_name)
    name = Path(str(set_name)).stem if v2 else set_path(set_name).stem
    if retriever is None:
        index, retriever = open_retriever(settings)
    answerable = [i for i in items if i.answerable]
    if v2:
        qrels, unresolved = retrieval_v2.FieldResolver(index.chunks.values(), index.doc_text).qrels(answerable)
    else:
        qrels, unresolved = Resolver.for_index(index).qrels(answerable)
    evaluated = [i for i in answerable if i.id in qrels]
    report = RetrievalReport(
        set_name=name, k=k, n_questions=len(evaluated), n_excluded_unanswerable=len(items) - len(answerable),
        unresolved=unresolved, index_hash=getattr(index, "manifest_hash", None),
        version="r2" if v2 else SET_VERSION, metric_names=retrieval_v2.METRICS if v2 else M.METRICS,
    )
    runs_dir = Path(settings.paths.home) / "evals" / "runs"
    analyzer = None
    if NAMED in modes:
        from assistant.understand.query import QueryAnalyzer

        analyzer = QueryAnalyzer.from_corpus()
    for mode in modes:
        ranked, latencies = retrieve_all(retriever, evaluated, mode, k, analyzer)
        run = M.ranked_run(ranked)
        path = M.write_trec_run(run, run_file_path(run_file, runs_dir, name, mode), tag=f"mesochat-{mode}")
        report.modes[mode] = ModeResult(
            mode=mode,
            metrics=M.evaluate(qrels, run, report.metric_names),
            curve=M.recall_curve(qrels, run, [x for x in M.CURVE_KS if x <= k]),
            per_query=M.per_query(qrels, run, report.metric_names),
            misses=(_field_misses if v2 else _misses)(evaluated, qrels, ranked),
            latency_ms=_latency_summary(latencies),
            run_file=str(path),
        )
    if plot_path is not False:
        from evals.plots import plot_recall_curves

        target = Path(plot_path) if plot_path else Path(settings.paths.home) / "evals" / f"{name}-recall.png"
        report.plot = str(plot_recall_curves({m: r.curve for m, r in report.modes.items()}, target,
                                             title=f"Recall@k on {name} ({len(evaluated)} questions)"))
    return report
