"""`mesochat corpus validate|stats` run as a real subprocess, the way users run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mesochat() -> str:
    exe = Path(sys.executable).with_name("mesochat")
    if exe.exists():
        return str(exe)
    found = shutil.which("mesochat")
    if not found:
        pytest.fail("the mesochat console script is not installed; run `make install`")
    return found


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [mesochat(), "corpus", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


GOOD = """\
- id: term:ici
  type: term
  name: Immune checkpoint inhibitor
  summary: A drug that blocks an inhibitory checkpoint on immune cells.
  origin: review
  sources: [{review: abstract}]
  abbreviation: ICI
  expansion: immune checkpoint inhibitor
  related: [ref:36]
"""

BAD = GOOD + """\
- id: term:ici
  type: term
  name: Copy
  summary: s
  origin: review
  sources: [{ref: 250}]
  expansion: x
  defintion: typo
  related: [agent:nowhere]
"""


def test_validate_ok(tmp_path: Path):
    (tmp_path / "terms.yaml").write_text(GOOD, encoding="utf-8")
    res = run("validate", "--records-dir", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "OK: 207 records valid"


def test_validate_prints_problem_lines_without_traceback(tmp_path: Path):
    (tmp_path / "terms.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "syntax.yaml").write_text("- id: term:x\n  name: [oops\n", encoding="utf-8")
    res = run("validate", "--records-dir", ".", cwd=tmp_path)
    assert res.returncode == 1
    assert "Traceback" not in res.stdout + res.stderr
    assert res.stdout.splitlines() == [
        "syntax.yaml: -: -: YAML syntax error at line 3, column 1: expected ',' or ']', but got '<stream end>'",
        "terms.yaml: term:ici: sources.0.ref: ref 250 is outside 1..206 (the review's reference numbers)",
        ("terms.yaml: term:ici: defintion: unknown field (typo?); allowed here: abbreviation, definition, expansion, "
        "id, name, notes, origin, related, sources, summary, synonyms, type"),
        "terms.yaml: term:ici: id: duplicate id; already defined in terms.yaml",
        "terms.yaml: term:ici: related.0: 'agent:nowhere' points to no record",
    ]
    assert "5 problem(s) found" in res.stderr


def test_missing_records_dir_is_one_error_line(tmp_path: Path):
    res = run("validate", "--records-dir", str(tmp_path / "nope"))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("mesochat: error: records directory")
    assert len(res.stderr.strip().splitlines()) == 1


def test_stats_counts_references(tmp_path: Path):
    (tmp_path / "terms.yaml").write_text(GOOD, encoding="utf-8")
    res = run("stats", "--records-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "trial 0 agent 0 biomarker 0 mechanism 0 term 1 ref 206 (7 with text)" in res.stdout
    assert "206 (7 with text)" in res.stdout and "records by type" in res.stdout


def test_stats_on_shipped_records():
    res = run("stats")
    assert res.returncode == 0, res.stderr
    assert "ref 206 (7 with text)" in res.stdout
    assert "Traceback" not in res.stderr
