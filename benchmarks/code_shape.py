"""The shape of assistant/: regex literals (raw string tokens, the patterns of the rule layer) per module, the
longest functions, and record ids written in code. ``python -m benchmarks.code_shape [--ref GIT_REF]`` also
prints the figures at another commit (read with ``git show``), for a before/after in one run."""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORD_ID = re.compile(r"['\"](?:trial|agent|biomarker|mechanism|term):[a-z0-9-]+['\"]")


def regex_literals(source: str) -> int:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return sum(1 for t in tokens if t.type == tokenize.STRING and t.string.lstrip("bBfF").lower().startswith(("r'", 'r"')))


def longest_functions(source: str, name: str) -> list[tuple[int, str]]:
    return [(n.end_lineno - n.lineno + 1, f"{name}:{n.name}") for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def sources(ref: str | None) -> dict[str, str]:
    if ref is None:
        return {str(p.relative_to(REPO)): p.read_text() for p in sorted((REPO / "assistant").rglob("*.py"))}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", ref, "assistant"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{ref}:{n}"], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout for n in names if n.endswith(".py")}


def report(label: str, files: dict[str, str]) -> None:
    per = {n: regex_literals(s) for n, s in files.items()}
    funcs = sorted((f for n, s in files.items() for f in longest_functions(s, n)), reverse=True)
    ids = sum(len(RECORD_ID.findall(s)) for s in files.values())
    print(f"{label}: regex literals {sum(per.values())}; functions over 80 lines {sum(1 for n, _ in funcs if n > 80)}"
          f" (longest {funcs[0][0]} lines, {funcs[0][1]}); record ids in code {ids}")
    for n, k in sorted(per.items(), key=lambda x: -x[1])[:5]:
        print(f"    {k:4d}  {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", help="another commit to compare with (e.g. the session's first)")
    args = parser.parse_args()
    if args.ref:
        report(args.ref, sources(args.ref))
    report("working tree", sources(None))


if __name__ == "__main__":
    main()
