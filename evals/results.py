"""Regenerates evals/RESULTS.md: review retrieval table, answer metrics, SciFact beside published figures,
the Recall@k plot and the commands that produced them."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from evals.metrics import METRICS
from kernel.errors import MesochatError

EVALS_DIR = Path(__file__).resolve().parent
RESULTS_MD = EVALS_DIR / "RESULTS.md"
PLOT_NAME = "recall_at_k.png"
# Hand-written notes (e.g. the retrieval tuning log) below this line survive regeneration.
KEEP_MARKER = "<!-- notes below this line are kept by `mesochat eval results` -->"
ANSWER_METRICS = ("citation_precision", "citation_integrity", "nugget_recall", "abstention_precision",
                  "abstention_recall", "answer_rate", "relevant_citation_rate")


def beir_cache_path(settings: Any, data_path: str | Path, split: str) -> Path:
    return Path(settings.paths.home) / "evals" / f"beir-{Path(data_path).name}-{split}.json"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def retrieval_table(report: dict[str, Any]) -> str:
    metrics = report.get("metrics") or METRICS
    rows = [[mode, *[r["metrics"].get(m) for m in metrics], f"{r['latency_ms'].get('p50', 0):.0f}", len(r["misses"])]
            for mode, r in report["modes"].items()]
    return table(["mode", *[m for m in metrics], "p50 ms", "misses@5"], rows)


def answers_table(report: dict[str, Any]) -> str:
    rows = [[m, report["metrics"].get(m)] for m in ANSWER_METRICS]
    for key, value in report.get("follow_up", {}).items():
        if key not in ("set",):
            rows.append([f"follow-up {key}", value])
    return table(["metric", report["mode"]], rows)


def published_metrics(published: Any) -> dict[str, dict[str, float]]:
    """PUBLISHED_SCIFACT as {system: {metric: value}} whatever its exact shape (a bare number is nDCG@10)."""
    out: dict[str, dict[str, float]] = {}
    for system, value in (published or {}).items():
        if isinstance(value, dict):
            out[str(system)] = {k: v for k, v in value.items() if isinstance(v, (int, float))}
        elif isinstance(value, (int, float)):
            out[str(system)] = {"ndcg@10": float(value)}
    return out


def beir_rows(ours: dict[str, dict[str, Any]], published: Any) -> tuple[list[str], list[list[Any]]]:
    pub = published_metrics(published)
    metrics = [m for m in ("ndcg@10", "recall@100", "mrr@10", "recall@10")
               if any(m in v for v in [*ours.values(), *pub.values()])] or ["ndcg@10"]
    rows = [[f"mesochat {mode}", *[v.get(m) for m in metrics]] for mode, v in ours.items()]
    rows += [[f"published {name}", *[v.get(m) for m in metrics]] for name, v in pub.items()]
    return ["system", *metrics], rows


def beir_modes(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-mode entries of a run_beir result (tolerates a {"modes": {...}} wrapper)."""
    if isinstance(result.get("modes"), dict):
        result = result["modes"]
    return {m: v for m, v in result.items() if isinstance(v, dict) and any("@" in k for k in v)}


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=EVALS_DIR, capture_output=True, check=False,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


ABLATION_METRICS = ("ndcg@10", "recall@5", "mrr@10")


def ablation_table(report: dict[str, Any]) -> str:
    """One row per corpus variant: records v2, per-result chunks, stopword list; hybrid and BM25/dense per set."""
    rows = []
    for r in report.get("rows", []):
        cells = [("on" if r["records_v2"] else "off") if "records_v2" in r else "-",
                 ("on" if r["result_chunks"] else "off") if "result_chunks" in r else "-",
                 {"bm25s": "bm25s English (v1)", "kernel": "kernel.text (now)"}.get(r["stopwords"], r["stopwords"])]
        for set_name, modes in r["scores"].items():
            hybrid = modes.get("hybrid", {})
            cells.append(f"{set_name}: " + " / ".join(f"{hybrid.get(m, 0):.3f}" for m in ABLATION_METRICS if m in hybrid)
                         + f" (bm25 {modes.get('bm25', {}).get('ndcg@10', 0):.3f}, dense {modes.get('dense', {}).get('ndcg@10', 0):.3f})")
        rows.append(cells)
    return table(["records v2 (9 new trials)", "one chunk per result", "stopwords", "hybrid nDCG@10 / R@5 / MRR@10"],
                 [[*row[:3], "<br>".join(row[3:])] for row in rows])


def render(retrieval: dict[str, Any], answers: dict[str, Any] | None, beir: dict[str, Any] | None,
           plot_rel: str | None, retrieval_v2: dict[str, Any] | None = None,
           ablations: list[dict[str, Any]] | None = None) -> str:
    from evals.beir import PUBLISHED_SCIFACT

    parts = [
        "# mesochat evaluation results",
        "",
        (f"Generated by `mesochat eval results` on {date.today().isoformat()} (commit {_git_rev()}); "
         f"eval set version {retrieval['version']}. Do not edit by hand."),
        "",
        (f"## Retrieval on the review ({retrieval['set']}, {retrieval['n_questions']} answerable questions, "
         f"{retrieval['n_excluded_unanswerable']} unanswerable excluded)"),
        "",
        "Chunk-level qrels resolved at run time from record ids and quoted spans; ranx metrics.",
        "",
        retrieval_table(retrieval),
        "",
    ]
    if retrieval.get("unresolved"):
        parts += [f"Unresolved judgements (left out): {', '.join(retrieval['unresolved'])}", ""]
    if plot_rel:
        parts += [f"![Recall@k per mode]({plot_rel})", ""]
    if retrieval_v2:
        parts += [(f"## Retrieval v2 ({retrieval_v2['set']}, {retrieval_v2['n_questions']} questions, judged at "
                   "record-and-field level)"), "",
                  ("Graded qrels: the chunk holding the asked field 2, the record's other chunks 1 "
                   "(evals/sets/README.md); `-l2` metrics count only the field's chunk."), "",
                  retrieval_table(retrieval_v2), ""]
    for ablation in ablations or []:
        parts += [f"## Ablation of the v1 regression ({ablation.get('what', 'review')})", "",
                  ("`python -m evals.ablation " + ablation.get("what", "review") + "`: the retriever of the regression "
                   "(name-blind, no passage penalty) on an in-memory index with exact dense search; only the corpus "
                   "or the stopword list changes."), "",
                  ablation_table(ablation), ""]
    if answers:
        parts += [f"## Answers ({answers['set']}, {answers['n_questions']} questions, {answers['mode']} mode)", "",
                  answers_table(answers), ""]
    if beir:
        header, rows = beir_rows(beir_modes(beir.get("results", beir)), PUBLISHED_SCIFACT)
        parts += [f"## SciFact (BEIR, {beir.get('split', 'test')} split) beside published baselines", "",
                  table(header, rows), ""]
    else:
        parts += ["## SciFact (BEIR)", "", ("Not run yet: `mesochat eval beir --data /path/to/scifact --split test`, "
                                            "then `mesochat eval results` again."), ""]
    parts += [
        "## Commands",
        "",
        "```",
        "mesochat index",
        f"mesochat eval retrieval --set {retrieval['set']} --modes {','.join(retrieval['modes'])} --k {retrieval['k']}",
        *([f"mesochat eval retrieval --set {retrieval_v2['set']} --modes {','.join(retrieval_v2['modes'])}"]
          if retrieval_v2 else []),
        *(["python -m evals.ablation review", "python -m evals.ablation scifact --data /path/to/scifact --split train"]
          if ablations else []),
        f"mesochat eval answers --set {answers['set'] if answers else 'review-test'}",
        "mesochat eval beir --data /path/to/scifact --split test",
        "mesochat eval results",
        "```",
        "",
    ]
    return "\n".join(parts)


def _load_beir(settings: Any, beir_json: str | Path | None) -> dict[str, Any] | None:
    """The BEIR figures to show: the file given, else the newest cached `mesochat eval beir` result."""
    if beir_json is not None:
        path = Path(beir_json)
        if not path.is_file():
            raise MesochatError(f"--beir {path} does not exist; run `mesochat eval beir --data DIR` first or pass its JSON")
    else:
        cached = sorted((Path(settings.paths.home) / "evals").glob("beir-*.json"), key=lambda p: p.stat().st_mtime)
        if not cached:
            return None
        path = cached[-1]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MesochatError(f"{path} is not valid JSON ({err.msg}); regenerate it with `mesochat eval beir`") from None


def write_results(
    settings: Any,
    output: str | Path = RESULTS_MD,
    set_name: str = "review-test",
    beir_json: str | Path | None = None,
    with_answers: bool = True,
    conversations: str | None = "conversations-test",
) -> Path:
    from evals.answers_eval import evaluate_answers
    from evals.retrieval_eval import evaluate_retrieval

    output = Path(output)
    beir = _load_beir(settings, beir_json)  # checked first: a bad path should not cost a full evaluation
    plot = output.parent / PLOT_NAME
    retrieval = evaluate_retrieval(settings, set_name, plot_path=plot).to_dict()
    retrieval_v2 = (evaluate_retrieval(settings, "retrieval-v2-test", plot_path=False).to_dict()
                    if set_name == "review-test" else None)
    ablations = [json.loads(p.read_text(encoding="utf-8"))
                 for p in sorted((Path(settings.paths.home) / "evals").glob("ablation-*.json"))]
    answers = evaluate_answers(settings, set_name, conversations).to_dict() if with_answers else None
    output.parent.mkdir(parents=True, exist_ok=True)
    kept = ""
    if output.is_file():
        old = output.read_text(encoding="utf-8")
        kept = old[old.index(KEEP_MARKER) + len(KEEP_MARKER):] if KEEP_MARKER in old else ""
    output.write_text(render(retrieval, answers, beir, PLOT_NAME, retrieval_v2, ablations) + "\n" + KEEP_MARKER + kept,
                      encoding="utf-8")
    return output
