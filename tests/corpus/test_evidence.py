"""Evidence rows from the real trial records: every figure carried over exactly, nothing imputed; the CLI table."""

from __future__ import annotations

import csv
import re
import subprocess

import pytest

from corpus import load_records
from corpus.evidence import (
    LINES,
    TABLE_COLUMNS,
    EvidenceRow,
    evidence_rows,
    evidence_table_markdown,
    parse_ci,
    short_figure,
)
from corpus.models import TrialRecord
from kernel.errors import MesochatError
from tests.helpers import VENV_BIN, cli_env


@pytest.fixture(scope="module")
def records():
    return load_records()


@pytest.fixture(scope="module")
def trials(records):
    return [r for r in records if isinstance(r, TrialRecord)]


def make_trial(slug: str = "zeta-meso", line: str = "maintenance", results: list[dict] | None = None,
               **extra) -> TrialRecord:
    """A valid v2 trial record that is not in the corpus (stands for one REC-B/REC-C will add)."""
    source = {"doi": "10.1000/zeta", "evidence": "primary"}
    data = {
        "id": f"trial:{slug}", "type": "trial", "name": slug.upper(), "summary": "A test trial.",
        "origin": "cited_publication", "sources": [source], "phase": "3", "design": "randomised",
        "setting": "maintenance after first-line chemotherapy", "population": "adults", "line": line,
        "arms": [{"name": "drug Z", "regimen": "drug Z daily"}, {"name": "placebo", "regimen": "placebo"}],
        "results": results if results is not None else [
            {"endpoint": "overall survival", "measure": "os", "statement": "Drug Z helped.",
             "arm_values": {"placebo": "9.0 months", "drug Z": "12.5 months (95% CI 10-14)"},
             "hazard_ratio": 0.7, "ci": "0.55–0.89", "ci_level": 90, "p_value": "0.004",
             "analysis": "final analysis", "follow_up": "median 30 months", "sources": [source]},
            {"endpoint": "progression-free survival", "measure": "pfs", "statement": "Medians only.",
             "arm_values": {"drug Z": "5.1 months", "placebo": "4.0 months"}, "sources": [source]},
            {"endpoint": "overall survival by PD-L1", "measure": "os", "statement": "No figure given.",
             "sources": [{"ref": 9, "evidence": "secondary"}]},
        ],
        **extra,
    }
    return TrialRecord.model_validate(data)


@pytest.mark.parametrize("text", ["0.60-0.91", "0.60–0.91", "0.60 — 0.91", "0.60 to 0.91", "(0.60, 0.91)",
                                  " 0.60 -0.91 ", ".60-.91", "0.60 TO 0.91", "0.60−0.91"])
def test_parse_ci_accepts_the_ways_intervals_are_written(text):
    assert parse_ci(text) == (0.60, 0.91)


@pytest.mark.parametrize("text", ["", "0.91-0.60", "about 0.6", "0.60", "0.60-0.91-1.2", "0.6..0.9"])
def test_parse_ci_rejects_what_is_not_an_interval(text):
    with pytest.raises(ValueError):
        parse_ci(text)


def test_every_figure_of_every_trial_gives_one_row_with_its_exact_values(trials):
    rows = evidence_rows(trials)
    by_key: dict[tuple, list[EvidenceRow]] = {}
    for row in rows:
        by_key.setdefault((row.record_id, row.endpoint_text), []).append(row)
    expected = 0
    for trial in trials:
        for result in trial.results:
            has_figure = bool(result.hazard_ratio is not None or result.ci or result.p_value or result.arm_values)
            found = by_key.get((trial.id, result.endpoint), [])
            if not has_figure:
                assert found == [], f"{trial.id} {result.endpoint}: a result without figures must give no row"
                continue
            expected += 1
            assert len(found) == 1, (trial.id, result.endpoint)
            row = found[0]
            assert row.trial == trial.name and row.line == trial.line and row.endpoint == result.measure
            assert row.hazard_ratio == result.hazard_ratio
            assert row.ci == result.ci and row.ci_level == result.ci_level and row.p_value == result.p_value
            assert (row.ci_low, row.ci_high) == (parse_ci(result.ci) if result.ci else (None, None))
            assert dict(row.medians) == (result.arm_values or {})
            assert (row.analysis, row.follow_up, row.subgroup, row.timepoint) == (
                result.analysis, result.follow_up, result.subgroup, result.timepoint)
            assert row.sources == tuple(result.sources)
    assert len(rows) == expected
    assert any(r.hazard_ratio is not None for r in rows), "the records hold hazard ratios"


def test_comparison_is_experimental_arm_against_control_with_medians_in_that_order(trials):
    by_id = {t.id: t for t in trials}
    compared = 0
    for row in evidence_rows(trials):
        arms = [a.name for a in by_id[row.record_id].arms]
        if len(arms) < 2:
            assert row.control is None and row.comparison == (arms[0] if arms else "")
            continue
        valued = [a for a in arms if a in dict(row.medians)]
        pair = tuple(valued) if len(valued) == 2 else (arms[0], arms[-1])
        assert (row.experimental, row.control) == pair
        assert row.comparison == f"{pair[0]} vs {pair[1]}"
        assert [arm for arm, _ in row.medians] == [a for a in pair if a in dict(row.medians)] + [
            a for a in arms if a in dict(row.medians) and a not in pair]
        compared += 1
    assert compared
    cm743 = next(r for r in evidence_rows(trials, endpoint="os") if r.record_id == "trial:checkmate-743")
    assert cm743.comparison == "nivolumab + ipilimumab vs chemotherapy"


def test_a_new_record_appears_without_code_change_and_nothing_is_imputed(trials):
    new = make_trial()
    rows = [r for r in evidence_rows([*trials, new]) if r.record_id == new.id]
    assert [(r.endpoint, r.hazard_ratio) for r in rows] == [("os", 0.7), ("pfs", None)]  # no row for "no figure"
    os_row, pfs_row = rows
    assert (os_row.ci_low, os_row.ci_high, os_row.ci_level) == (0.55, 0.89, 90)
    assert os_row.line == "maintenance" and os_row.comparison == "drug Z vs placebo"
    assert os_row.medians == (("drug Z", "12.5 months (95% CI 10-14)"), ("placebo", "9.0 months"))
    assert "90% CI 0.55–0.89" in os_row.hr_text
    assert (pfs_row.ci, pfs_row.ci_low, pfs_row.ci_level, pfs_row.p_value) == (None, None, None, None)
    assert pfs_row.hr_text == ""


def test_rows_are_grouped_by_line_in_order(trials):
    lines = [r.line for r in evidence_rows(trials)]
    assert lines == sorted(lines, key=LINES.index)


def test_endpoint_filter_is_case_insensitive_and_rejects_unknown_ones(trials):
    assert evidence_rows(trials, endpoint="OS") == evidence_rows(trials, endpoint="os")
    assert {r.endpoint for r in evidence_rows(trials, endpoint="PFS")} == {"pfs"}
    with pytest.raises(MesochatError, match="unknown endpoint 'survival'") as err:
        evidence_rows(trials, endpoint="survival")
    assert "\n" not in str(err.value)


def test_setting_filter_takes_a_line_or_words_of_the_setting(trials):
    first = evidence_rows(trials, setting="First-line")
    assert first and {r.line for r in first} == {"first line"}
    new = make_trial()
    assert {r.record_id for r in evidence_rows([*trials, new], setting="maintenance after")} >= {new.id}
    assert evidence_rows(trials, setting="no such setting anywhere") == []


def test_citation_prefers_the_primary_publication():
    publication = {"authors": "Roe A, et al.", "journal": "Lancet", "year": 2024}
    secondary = {"url": "https://news.example.org/zeta", "evidence": "secondary"}
    primary = {"doi": "10.1000/zeta", "evidence": "primary"}
    result = {"endpoint": "overall survival", "measure": "os", "statement": "s", "hazard_ratio": 0.8,
              "sources": [secondary, primary]}
    row = evidence_rows([make_trial(results=[result], publication=publication)])[0]
    assert row.citation == "Roe A et al., Lancet 2024"
    only_secondary = evidence_rows([make_trial(results=[{**result, "sources": [secondary]}],
                                               publication=publication)])[0]
    assert only_secondary.citation == "news.example.org (secondary)"


def test_markdown_table_has_one_line_per_row_with_the_ci_level(trials):
    rows = evidence_rows([*trials, make_trial()])
    text = evidence_table_markdown(rows)
    lines = text.strip().splitlines()
    assert len(lines) == 2 + len(rows)
    for line in [lines[0], *lines[2:]]:  # every cell in place: pipes inside cells are escaped
        assert line.startswith("| ") and line.endswith(" |")
        assert len(re.findall(r"(?<!\\)\|", line)) == len(TABLE_COLUMNS) + 1, line
    assert "90% CI 0.55–0.89" in text
    for row in rows:
        if row.hazard_ratio is not None and row.ci_level is not None:
            assert f"{row.ci_level:g}% CI" in text


def test_short_figure():
    assert short_figure("18.1 months (95% CI 16.8-21.4)") == "18.1 mo"
    assert short_figure("44.4% (95% CI 31.2-57.7), n=54") == "44.4%"
    assert short_figure("not reached") == "not reached"
    assert short_figure("median 12.09 months (95% CI 9.59-13.67)") == "12.09 mo"


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "mesochat"), "evidence", *args], check=False, capture_output=True,
                          text=True, env=cli_env(), timeout=300, cwd=cwd)


def test_cli_prints_the_table_and_writes_csv(tmp_path, trials):
    out = tmp_path / "os.csv"
    proc = run_cli("--endpoint", "OS", "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = evidence_rows(trials, endpoint="os")
    for row in rows:
        assert row.trial in proc.stdout
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    assert [w["record_id"] for w in written] == [r.record_id for r in rows]
    assert [w["hr"] for w in written] == ["" if r.hazard_ratio is None else f"{r.hazard_ratio:g}" for r in rows]
    assert [w["ci_level"] for w in written] == ["" if r.ci_level is None else f"{r.ci_level:g}" for r in rows]


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "survival"], "unknown endpoint 'survival'"),
    (["--setting", "on the moon"], "no trial result in the records matches"),
    (["--endpoint", "os", "--png", "/nonexistent-dir/os.png"], "does not exist"),
])
def test_cli_bad_input_is_one_line(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mesochat: error: ") and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_rates_get_a_difference_between_arms_and_nothing_is_imputed():
    from corpus.evidence import evidence_rows, table_cells

    for row in evidence_rows(endpoint="orr"):
        values = [v for _, v in row.medians]
        if row.difference is None:
            continue
        lead = [float(re.match(r"\s*(\d+(?:\.\d+)?)\s*%", v).group(1)) for v in values]
        assert row.difference == round(lead[0] - lead[1], 1)
        assert f"{row.difference:+g} percentage points" in table_cells(row)
    single = [r for r in evidence_rows(endpoint="orr") if len(r.medians) == 1]
    assert all(r.difference is None for r in single)  # a single-arm trial has no difference
