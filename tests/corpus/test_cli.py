"""`mesochat corpus validate|stats` run as a real subprocess, the way users run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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


# --- evidence checks, in process through the typer app (same loader, same records) ------------------

FIGURE_TRIAL = """\
- id: trial:t
  type: trial
  name: T
  summary: A trial.
  origin: cited_publication
  sources: [{ref: 9}]
  phase: "3"
  design: randomised
  line: first line
  population: adults
  arms: [{name: A, regimen: drug A}, {name: B, regimen: drug B}]
  results:
    - endpoint: overall survival
      measure: os
      statement: A lived longer.
      hazard_ratio: 0.8
      ci: "0.6-0.9"
      ci_level: 95
      sources: [{doi: 10.1000/x, evidence: primary}, {url: "https://ascopost.com/x", evidence: secondary}]
    - endpoint: objective response rate
      measure: orr
      statement: More responses with A.
      arm_values: {A: "40%", B: "30%"}
      sources: [{url: "https://ascopost.com/x", evidence: secondary}]
    - endpoint: progression-free survival
      measure: pfs
      statement: PFS was longer with A.
      sources: [{url: "https://mesowatch.org/x", evidence: secondary}]
"""
FIGURE_AGENT = """\
- id: agent:a
  type: agent
  name: Drug A
  summary: An antibody.
  origin: cited_publication
  sources: [{ref: 9}]
  agent_class: antibody
  mechanism: blocks something
  modality: monoclonal antibody
  approvals:
    - {agency: EMA, date: 2021-06, indication: first line, basis: trial:t,
       sources: [{url: "https://www.ema.europa.eu/a", evidence: regulatory}]}
"""


def invoke(*args: str):
    from typer.testing import CliRunner

    from corpus.cli import app

    return CliRunner().invoke(app, list(args))


def test_validate_warns_but_passes_on_secondary_only_figures(tmp_path: Path):
    (tmp_path / "r.yaml").write_text(FIGURE_TRIAL + FIGURE_AGENT, encoding="utf-8")
    res = invoke("validate", "--records-dir", str(tmp_path))
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "trial:t: results.1 (objective response rate): only secondary sources" in warnings[0]
    assert "trial:t: results.2 (progression-free survival): rests only on weak hosts" in warnings[1]
    assert res.stdout.splitlines()[-1] == "OK: 208 records valid (2 warning(s))"


def test_validate_fails_on_figure_source_without_evidence(tmp_path: Path):
    text = FIGURE_TRIAL.replace('{url: "https://ascopost.com/x", evidence: secondary}]\n    - endpoint: prog',
                                '{url: "https://ascopost.com/x"}]\n    - endpoint: prog')
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    res = invoke("validate", "--records-dir", str(tmp_path))
    assert res.exit_code == 1
    assert "r.yaml: trial:t: results.1: source(s) 0 of a figure lack 'evidence'" in res.stdout
    assert "1 problem(s) found" in res.stderr


def test_validate_fails_on_figure_without_source(tmp_path: Path):
    text = FIGURE_AGENT.replace('sources: [{url: "https://www.ema.europa.eu/a", evidence: regulatory}]', "sources: []")
    (tmp_path / "r.yaml").write_text(FIGURE_TRIAL + text, encoding="utf-8")
    res = invoke("validate", "--records-dir", str(tmp_path))
    assert res.exit_code == 1
    assert "agent:a: approvals.0.sources: at least one source is required" in res.stdout


def test_stats_prints_figures_by_best_source_and_weak_hosts(tmp_path: Path):
    (tmp_path / "r.yaml").write_text(FIGURE_TRIAL + FIGURE_AGENT, encoding="utf-8")
    res = invoke("stats", "--records-dir", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "figures by best source" in res.stdout
    assert ("figures trial: primary 1 regulatory 0 registry 0 secondary 2 total 3 weak-hosts-only 1"
            in res.stdout)
    assert ("figures agent: primary 0 regulatory 1 registry 0 secondary 0 total 1 weak-hosts-only 0"
            in res.stdout)
