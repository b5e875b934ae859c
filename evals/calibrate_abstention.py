"""Choose the extractive abstention threshold on the dev questions and record how it was chosen.

Every dev question is answered with abstention switched off, so each gets its evidence score (the best
evidence sentence's score, see assistant/answer/extractive.py). For each candidate threshold the table shows
the share of answerable questions that would be abstained on (should be <= 5%) and the share of
unanswerable ones that would be (should be >= 95%). Direct reference lookups ("reference 36") are
always answered from the reference's record, whatever the score.

The chosen value is the midpoint of the widest threshold interval meeting both goals (or, when none
does, the threshold with the fewest weighted errors). It is written to assistant/calibration.json, which
the answer engine reads (``config.answer.abstain_threshold``); the full table goes to --out.

    python evals/calibrate_abstention.py [--home DIR] [--set evals/sets/review-dev.jsonl] [--out FILE]

Without --home the built-in corpus is indexed into a cache directory under /tmp first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import indexing  # noqa: F401  (offline environment)
from assistant.calibration import CALIBRATION_FILE
from kernel.config import REPO

MAX_ANSWERABLE_ABSTAINED = 0.05
MIN_UNANSWERABLE_ABSTAINED = 0.95
# A few questions of our own beside the dev set (kept in the record so the figures can be re-derived).
OWN_DEV = [
    {"id": "own-1", "question": "What is the capital of France?", "answerable": False},
    {"id": "own-2", "question": "best treatment for migraine", "answerable": False},
    {"id": "own-3", "question": "How do I bake sourdough bread?", "answerable": False},
    {"id": "own-4", "question": "What is ADI-PEG 20?", "answerable": True},
    {"id": "own-5", "question": "What did CheckMate 743 show for overall survival?", "answerable": True},
    {"id": "own-6", "question": "Which journal published BEAT-meso?", "answerable": True},
]


def load_questions(paths: list[Path], own: bool) -> list[dict]:
    rows = [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return rows + (OWN_DEV if own else [])


def ensure_home(home: str | None) -> Path:
    from indexing.build import build_index
    from kernel.config import Config

    if home:
        return Path(home)
    cache = Path("/tmp/mesochat-calibration-home")
    build_index(Config.load(home=cache), progress=False)  # incremental: a no-op when up to date
    return cache


def score_questions(home: Path, rows: list[dict]) -> list[dict]:
    from assistant import Assistant

    assistant = Assistant.load(home=home, threshold=float("-inf"))
    out = []
    for row in rows:
        ans = assistant.ask(row["question"])
        if ans.provenance.get("route") != "passages":
            continue  # answered from a record's fields or gated (other disease, uncovered name): no threshold
        out.append({
            "id": row["id"],
            "answerable": bool(row["answerable"]),
            "score": float(ans.provenance["evidence_score"]),
            "direct": bool(ans.provenance.get("direct_lookup")),
            "question": row["question"],
        })
    return out


def _abstains(row: dict, t: float) -> bool:
    return not row["direct"] and row["score"] < t


def meets_goals(fa: float, fu: float) -> bool:
    return fa <= MAX_ANSWERABLE_ABSTAINED and fu >= MIN_UNANSWERABLE_ABSTAINED


def rates(scored: list[dict], t: float) -> tuple[float, float]:
    ans = [r for r in scored if r["answerable"]]
    una = [r for r in scored if not r["answerable"]]
    fa = sum(_abstains(r, t) for r in ans) / max(len(ans), 1)
    fu = sum(_abstains(r, t) for r in una) / max(len(una), 1)
    return fa, fu


def choose(scored: list[dict]) -> tuple[float, str]:
    """Midpoint of the widest interval meeting both goals; else fewest errors (an unanswered answerable
    question counts half as much as a wrong answer to an unanswerable one: a wrong citation is worse)."""
    cuts = sorted({round(r["score"], 4) for r in scored})
    edges = [cuts[0] - 0.05] + [(a + b) / 2 for a, b in itertools.pairwise(cuts)] + [cuts[-1] + 0.05]
    ok = [t for t in edges if meets_goals(*rates(scored, t))]
    if ok:
        # the run of consecutive satisfying edges: take the middle of the lowest and highest score gap
        lo, hi = min(ok), max(ok)
        lower = max([r["score"] for r in scored if r["score"] < lo] or [lo])
        upper = min([r["score"] for r in scored if r["score"] > hi] or [hi])
        return round((lower + upper) / 2, 3), "both goals met"
    cost = {t: 0.5 * rates(scored, t)[0] + (1 - rates(scored, t)[1]) for t in edges}
    least = min(cost.values())
    best = [t for t in edges if cost[t] == least]
    # several thresholds tie: the middle of the tied range keeps the widest margin on both sides
    return round((min(best) + max(best)) / 2, 3), "goals not both reachable; fewest weighted errors"


def write_calibration(path: Path, threshold: float, note: str, set_name: str, details: Path) -> None:
    """The file the answer engine reads its abstention threshold from (assistant.calibration.calibrated_threshold)."""
    shown = str(details.relative_to(REPO)) if details.is_relative_to(REPO) else str(details)
    data = {"threshold": threshold, "note": note, "set": set_name, "details": shown}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", help="data directory with the review corpus indexed")
    ap.add_argument("--set", action="append", default=None,
                    help="dev set(s); default: review-dev and review-v2-dev (only their prose-route questions count)")
    ap.add_argument("--out", default=str(REPO / "evals/results/abstention-calibration.json"))
    ap.add_argument("--no-own", action="store_true", help="only the dev set, not the few built-in questions")
    ap.add_argument("--calibration", default=str(CALIBRATION_FILE), help="where the answer engine reads it")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sets = [Path(p) for p in (args.set or [REPO / "evals/sets/review-dev.jsonl",
                                           REPO / "evals/sets/review-v2-dev.jsonl"])]
    rows = load_questions(sets, own=not args.no_own)
    scored = score_questions(ensure_home(args.home), rows)
    threshold, how = choose(scored)
    n_ans = sum(r["answerable"] for r in scored)
    set_name = " + ".join(str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in sets)
    print(f"{len(scored)} prose-route questions ({n_ans} answerable, {len(scored) - n_ans} unanswerable) from {set_name}")
    print(f"{'threshold':>9}  {'answerable abstained':>20}  {'unanswerable abstained':>22}")
    grid = sorted({round(x / 100, 2) for x in range(20, 71, 2)} | {threshold})
    for t in grid:
        fa, fu = rates(scored, t)
        mark = "  <- chosen" if t == threshold else ""
        print(f"{t:>9.3f}  {fa:>20.1%}  {fu:>22.1%}{mark}")
    fa, fu = rates(scored, threshold)
    print("\nlowest-scoring answerable:")
    for r in sorted((r for r in scored if r["answerable"] and not r["direct"]), key=lambda r: r["score"])[:5]:
        print(f"  {r['score']:.3f}  {r['id']}: {r['question']}")
    print("highest-scoring unanswerable:")
    for r in sorted((r for r in scored if not r["answerable"]), key=lambda r: -r["score"])[:5]:
        print(f"  {r['score']:.3f}  {r['id']}: {r['question']}")
    note = (f"threshold {threshold} ({how}): {fa:.1%} of {n_ans} answerable abstained, {fu:.1%} of "
            f"{len(scored) - n_ans} unanswerable abstained")
    print(f"\nchosen: {note}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"set": set_name, "threshold": threshold, "how": how, "note": note,
                               "answerable_abstained": fa, "unanswerable_abstained": fu,
                               "seconds": round(time.perf_counter() - t0, 1), "scores": scored}, indent=1) + "\n")
    write_calibration(Path(args.calibration), threshold, f"calibrated by evals/calibrate_abstention.py on {set_name}: "
                      f"{note}", set_name, out)
    print(f"recorded in {out}; threshold written to {args.calibration}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
