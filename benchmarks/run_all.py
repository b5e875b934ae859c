"""Runs every benchmarks/bench_*.py in turn (each in its own process, so memory figures do not mix)
and prints their figures. Extra arguments go to the scripts chosen with ``--only``.

    python -m benchmarks.run_all                      # every script with its defaults
    python -m benchmarks.run_all --only retrieval -- --home DIR --repeats 1

Each script prints its own report; a script may end with a line ``FIGURES {json}``, which is collected
and printed again at the end as one summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(only: list[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [s for s in found if s.stem.removeprefix("bench_") in only or s.stem in only]
    return found


def run_script(path: Path, extra: list[str]) -> tuple[int, dict | None, float]:
    print(f"\n=== {path.name} ===", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", f"benchmarks.{path.stem}", *extra], stdout=subprocess.PIPE, text=True,
                            cwd=HERE.parent)
    figures = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("FIGURES "):
            figures = json.loads(line[len("FIGURES "):])
        else:
            print(line, end="", flush=True)
    return proc.wait(), figures, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run every benchmarks/bench_*.py and print their figures.")
    p.add_argument("--only", action="append", default=[], help="run only this benchmark (e.g. retrieval); repeatable")
    args, extra = p.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    if extra and not args.only:  # scripts take different options; extra ones only make sense for chosen scripts
        print("extra arguments need --only NAME (scripts take different options)", file=sys.stderr)
        return 2
    todo = scripts(args.only)
    if not todo:
        print("no benchmarks/bench_*.py matched", file=sys.stderr)
        return 2
    summary, failed = {}, []
    for path in todo:
        code, figures, seconds = run_script(path, extra)
        summary[path.stem] = {"exit": code, "seconds": round(seconds, 1), "figures": figures}
        if code != 0:
            failed.append(path.name)
    print("\n=== summary ===")
    print(json.dumps(summary, indent=2))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
