"""`mesochat eval retrieval|beir|answers|results`: the evaluation commands (typer app `app`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kernel.errors import MesochatError

app = typer.Typer(help="Evaluate retrieval and answers (review sets, BEIR SciFact) and regenerate RESULTS.md.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
# Piped output (files, CI logs) gets a wide table instead of rich's 80-column default, so headers stay whole.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)

HomeOpt = typer.Option("--home", help="Data directory holding the index (default $MESOCHAT_HOME or ./data).")
ModesOpt = typer.Option("--modes", help="Comma list of retrieval modes (bm25, dense, hybrid, hybrid-named: "
                        "hybrid told the records the question names).")
SetHelp = "Question set (review-dev, review-test) or a .jsonl path."
ChromaOpt = typer.Option("--chroma-url", help="Chroma server URL, e.g. http://127.0.0.1:8000.")


def _settings(home: Path | None, chroma_url: str | None) -> Any:
    import indexing  # noqa: F401  (offline environment first)
    from kernel.config import Config

    return Config.load(home=home, chroma_url=chroma_url)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _metric_table(title: str, rows: dict[str, dict[str, Any]], metrics: list[str], extra: dict[str, list]) -> Table:
    """One row per mode, one column per metric, then the extra columns (one value per mode, in order)."""
    t = Table(title=title, title_justify="left")
    for name in ["mode", *metrics, *extra]:
        t.add_column(name, justify="left" if name == "mode" else "right")
    for i, (mode, values) in enumerate(rows.items()):
        cells = [f"{values[m]:.3f}" if isinstance(values.get(m), (int, float)) else "-" for m in metrics]
        t.add_row(mode, *cells, *[str(col[i]) for col in extra.values()])
    return t


@app.command("retrieval")
def retrieval_command(
    set_name: Annotated[str, typer.Option("--set", help=SetHelp)] = "review-test",
    modes: Annotated[str, ModesOpt] = "bm25,dense,hybrid,hybrid-named",
    k: Annotated[int, typer.Option("--k", help="Chunks retrieved per question.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    run_file: Annotated[Path | None, typer.Option(
        "--run-file", help="TREC run file path (the mode is inserted before the suffix) or a directory.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Where to write the Recall@k PNG.")] = None,
    home: Annotated[Path | None, HomeOpt] = None,
    chroma_url: Annotated[str | None, ChromaOpt] = None,
) -> None:
    """nDCG@10, Recall@1/5/10/100 and MRR@10 per mode, TREC run files, a Recall@k plot and the misses."""
    from evals.retrieval_eval import MISS_K, evaluate_retrieval

    report = evaluate_retrieval(_settings(home, chroma_url), set_name, modes, k, run_file, plot)
    if as_json:
        _print_json(report.to_dict())
        return
    rows = {m: r.metrics for m, r in report.modes.items()}
    extra = {"p50 ms": [r.latency_ms.get("p50", "-") for r in report.modes.values()],
             f"misses@{MISS_K}": [len(r.misses) for r in report.modes.values()]}
    console.print(_metric_table(
        f"Retrieval on {report.set_name}: {report.n_questions} answerable questions "
        f"({report.n_excluded_unanswerable} unanswerable excluded), k={report.k}", rows, list(report.metric_names), extra))
    if report.unresolved:
        console.print(f"[yellow]unresolved judgements (left out):[/] {', '.join(report.unresolved)}")
    for mode, r in report.modes.items():
        if r.misses:
            console.print(f"\n[bold]{mode}[/]: relevant not in top {MISS_K}")
            for m in r.misses:
                rank = m.first_relevant_rank if m.first_relevant_rank is not None else f">{report.k}"
                console.print(f"  {m.qid} (first relevant at {rank}): {m.question}")
    console.print("\nrun files: " + ", ".join(r.run_file for r in report.modes.values() if r.run_file))
    if report.plot:
        console.print(f"plot: {report.plot}")


@app.command("beir")
def beir_command(
    data: Annotated[Path, typer.Option("--data", help="BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/).")],
    split: Annotated[str, typer.Option("--split", help="qrels split: test, dev or train.")] = "test",
    modes: Annotated[str, ModesOpt] = "bm25,dense,hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON entry per mode.")] = False,
    home: Annotated[Path | None, HomeOpt] = None,
    chroma_url: Annotated[str | None, ChromaOpt] = None,
) -> None:
    """Our retrieval on a BEIR dataset (e.g. SciFact) beside the published baselines."""
    from evals.beir import PUBLISHED_SCIFACT, run_beir
    from evals.results import beir_cache_path, beir_modes, beir_rows
    from evals.retrieval_eval import parse_modes

    if not data.is_dir():
        raise MesochatError(f"--data {data} is not a directory; point it at a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/)")
    mode_list = parse_modes(modes)
    settings = _settings(home, chroma_url)
    result = run_beir(data, split, mode_list, settings)
    ours = beir_modes(result)
    cache = beir_cache_path(settings, data, split)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"dataset": data.name, "split": split, "results": ours}, indent=2), encoding="utf-8")
    if as_json:
        _print_json(ours)
        return
    header, rows = beir_rows(ours, PUBLISHED_SCIFACT if data.name.lower().startswith("scifact") else {})
    t = Table(title=f"BEIR {data.name} ({split})", title_justify="left")
    for h in header:
        t.add_column(h, justify="left" if h == "system" else "right")
    for row in rows:
        t.add_row(*[f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v)) for v in row])
    console.print(t)
    console.print(f"saved: {cache}")


@app.command("answers")
def answers_command(
    set_name: Annotated[str, typer.Option("--set", help=SetHelp)] = "review-test",
    conversations: Annotated[str, typer.Option("--conversations",
                                      help="Conversation set; 'auto' picks the one matching --set, 'none' skips.")] = "auto",
    mode: Annotated[str, typer.Option("--mode", help="Answer mode: extractive or llm.")] = "extractive",
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    home: Annotated[Path | None, HomeOpt] = None,
    chroma_url: Annotated[str | None, ChromaOpt] = None,
) -> None:
    """Citation precision, nugget recall, abstention precision/recall and follow-up success (v2 sets: per category)."""
    from evals.answers_eval import default_conversations, evaluate_answers
    from evals.sets_v2 import is_v2
    from evals.sets_v3 import is_v3

    conv = default_conversations(set_name) if conversations == "auto" else conversations
    conv = None if conv is None or conv.lower() == "none" else conv
    if is_v2(set_name) or is_v3(set_name):
        _answers_v2(set_name, conv, mode, as_json, _settings(home, chroma_url))
        return
    report = evaluate_answers(_settings(home, chroma_url), set_name, conv, mode)
    if as_json:
        _print_json(report.to_dict())
        return
    t = Table(title=f"Answers on {report.set_name} ({report.n_questions} questions, {report.mode})", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for key, value in [*report.metrics.items(), *[(f"follow-up {k}", v) for k, v in report.follow_up.items()]]:
        t.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(t)
    for f in report.failures:
        detail = {k: v for k, v in f.items() if k not in ("id", "question", "turns")}
        console.print(f"  {f['id']}: {f.get('question') or ' / '.join(f.get('turns', []))} -> {detail}")


def _table(title: str, rows: dict[str, dict[str, Any]], skip: tuple[str, ...] = ()) -> Table:
    """One row per group, one column per metric found in any row."""
    columns = list(dict.fromkeys(k for r in rows.values() for k in r if k not in skip))
    t = Table(title=title, title_justify="left")
    t.add_column("")
    for c in columns:
        t.add_column(c.replace("_", " "), justify="right")
    for name, r in rows.items():
        t.add_row(name, *[f"{r[c]:.3f}" if isinstance(r.get(c), float) else "-" if r.get(c) is None else str(r[c])
                          for c in columns])
    return t


def _answers_v2(set_name: str, conv: str | None, mode: str, as_json: bool, settings: Any) -> None:
    """v2 sets: summary, then every category on its own row; a conversation set alone runs only the turns."""
    from evals.answers_v2 import evaluate_answers_v2

    questions = None if Path(set_name).name.startswith("conversations") else set_name
    if questions is None:
        conv = set_name
    report = evaluate_answers_v2(settings, questions, conv, mode)
    if as_json:
        _print_json(report.to_dict())
        return
    if report.summary:
        console.print(_table(f"Answers on {report.set_name} ({report.n_questions} questions, {report.mode})",
                             {"all": report.summary}))
        console.print(_table("By category", report.by_category))
        if report.by_style:
            console.print(_table("By style", report.by_style))
    if report.conversations:
        c = report.conversations
        console.print(_table(f"Conversations {c['set']} ({c['n_conversations']})", {"all": c["summary"]}))
        console.print(_table("Conversations by category", c["by_category"]))
        if c.get("by_style"):
            console.print(_table("Conversations by style", c["by_style"]))
    if report.regressions:
        console.print("regression cases: " + ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in report.regressions.items()))
    for f in report.failures:
        detail = {k: v for k, v in f.items() if k not in ("id", "question", "category") and v is not None}
        console.print(f"  {f['id']} [{f['category']}]: {f['question']} -> {detail}")


@app.command("results")
def results_command(
    beir: Annotated[Path | None, typer.Option(
        "--beir", help="A saved `mesochat eval beir` JSON (default: the newest cached one).")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Where to write (default evals/RESULTS.md).")] = None,
    set_name: Annotated[str, typer.Option("--set", help="Question set for the tables.")] = "review-test",
    conversations: Annotated[str, typer.Option("--conversations", help="Conversation set; 'auto' or 'none'.")] = "auto",
    home: Annotated[Path | None, HomeOpt] = None,
    chroma_url: Annotated[str | None, ChromaOpt] = None,
) -> None:
    """Regenerate evals/RESULTS.md (tables, plot, commands)."""
    from evals.answers_eval import default_conversations
    from evals.results import RESULTS_MD, write_results

    conv = default_conversations(set_name) if conversations == "auto" else conversations
    conv = None if conv is None or conv.lower() == "none" else conv
    path = write_results(_settings(home, chroma_url), output or RESULTS_MD, set_name, beir, conversations=conv)
    console.print(f"wrote {path}")


@app.command("train-intent")
def train_intent_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Train the learned intent layer on the dev pool (each origin held out in turn) and save its artefact."""
    from evals.intent_train import train

    report = train(progress=not as_json)
    if as_json:
        _print_json(report)
        return
    rows = {o: {"classifier": report["held_out_accuracy"].get(o), "rules": report["rule_accuracy"].get(o)}
            for o in report["held_out_accuracy"]}
    rows["mean"] = {"classifier": report["held_out_mean"], "rules": report["rule_mean"]}
    console.print(_table("Attribute accuracy, each dev origin held out", rows))
    console.print({k: v for k, v in report.items() if not isinstance(v, dict)} | {"above_threshold": report["above_threshold"]})
