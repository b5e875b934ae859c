"""Record models, YAML loading and validation problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from corpus import (
    AgentRecord,
    ReferenceRecord,
    Source,
    TrialRecord,
    load_records,
    load_review,
    models,
    validate_records,
)
from kernel.errors import MesochatError

AGENT = """\
- id: agent:pegargiminase
  type: agent
  name: Pegargiminase
  synonyms: [ADI-PEG 20]
  summary: Enzyme that removes arginine from the blood.
  origin: both
  sources: [{review: abstract}, {ref: 36}, {ref: 12, note: text of ref 12 was not captured}]
  related: [biomarker:ass1, ref:36]
  agent_class: arginine-depleting enzyme
  targets: [arginine]
  mechanism: breaks down circulating arginine
  modality: enzyme therapy
  code_names: [ADI-PEG 20]
  notes: 2026-03-16
"""
BIOMARKER = """\
- id: biomarker:ass1
  type: biomarker
  name: ASS1 deficiency
  summary: Tumours lacking ASS1 depend on arginine from outside.
  origin: review
  sources: [{review: abstract}]
  kind: protein expression
  relevance: selects patients for arginine deprivation
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lines(problems) -> list[str]:
    return [str(p) for p in problems]


@pytest.fixture(scope="module")
def review():
    return load_review()


# --- models ----------------------------------------------------------------------------------------


def test_docstring_examples_are_valid():
    """models.py shows the records writer one YAML example per type; they must stay valid."""
    doc = models.__doc__.split("Examples, one per type::")[1].split("Reference records")[0]
    items = yaml.safe_load(textwrap.dedent(doc))
    recs = TypeAdapter(list[models.AnyRecord]).validate_python(items)
    assert [r.type for r in recs] == ["trial", "agent", "biomarker", "mechanism", "term"]


def test_source_needs_exactly_one_locator():
    assert Source(ref=36).kind == "ref" and Source(ref=36).value == 36
    assert Source(review="abstract", note="last paragraph").kind == "review"
    with pytest.raises(ValidationError, match="exactly one"):
        Source(review="abstract", ref=3)
    with pytest.raises(ValidationError, match="exactly one"):
        Source(note="only a note")
    for bad in ({"ref": 0}, {"ref": 207}, {"review": "introduction"}, {"pmcid": "10870227"},
                {"doi": "https://doi.org/10.1/x"}, {"url": "www.x.org"}, {"refs": 3}):
        with pytest.raises(ValidationError):
            Source(**bad)


def test_id_must_match_type_and_be_a_lowercase_slug():
    base = {"name": "x", "summary": "y", "origin": "review", "sources": [{"review": "title"}],
            "agent_class": "c", "mechanism": "m", "modality": "mo"}
    assert AgentRecord(id="agent:anti-pd-1", type="agent", **base).slug == "anti-pd-1"
    for bad in ("trial:x", "agent:Nivolumab", "agent:nivo_lumab", "nivolumab", "agent:", "agent:-x"):
        with pytest.raises(ValidationError, match="id"):
            AgentRecord(id=bad, type="agent", **base)


def test_trial_structure():
    trial = {
        "id": "trial:t", "type": "trial", "name": "T", "summary": "s", "origin": "cited_publication",
        "sources": [{"ref": 9}], "phase": "III", "design": "randomised", "population": "p",
        "arms": [{"name": "A", "regimen": "drug A"}, {"name": "B", "regimen": "drug B", "n": 10}],
        "results": [{"endpoint": "OS", "measure": "os", "statement": "A beat B.", "arm_values": {"A": "20 months"},
                     "hazard_ratio": 0.8, "p_value": 0.04, "sources": [{"ref": 9, "evidence": "primary"}]}],
        "registration": "NCT03762018", "line": "first line",
    }
    rec = TrialRecord.model_validate(trial)
    assert rec.results[0].p_value == "0.04"  # a YAML number in a text field is kept as text
    ok = {"endpoint": "OS", "measure": "os", "statement": "s", "sources": [{"ref": 9, "evidence": "primary"}]}
    for patch in ({"registration": "NCT123"}, {"n_randomised": -1}, {"results": [{**ok, "sources": []}]},
                  {"results": [{**ok, "arm_values": {"C": "1"}}]}, {"arms": [{"name": "A"}]},
                  {"origin": "paper"}, {"sources": []}, {"line": "second line"}):
        with pytest.raises(ValidationError):
            TrialRecord.model_validate({**trial, **patch})


# --- loading ---------------------------------------------------------------------------------------


def test_load_yaml_plus_generated_references(tmp_path: Path, review):
    write(tmp_path, "agents.yaml", AGENT)
    write(tmp_path, "biomarkers.yml", BIOMARKER)
    assert validate_records(tmp_path, review) == []
    records = load_records(tmp_path, review)
    assert len(records) == 2 + 206
    by_id = {r.id: r for r in records}
    agent = by_id["agent:pegargiminase"]
    assert isinstance(agent, AgentRecord) and agent.notes == "2026-03-16"  # dates stay text
    assert [s.ref for s in agent.sources[1:]] == [36, 12]

    refs = [r for r in records if r.type == "ref"]
    assert [r.n for r in refs] == list(range(1, 207))
    r36 = by_id["ref:36"]
    assert isinstance(r36, ReferenceRecord) and r36.captured
    assert (r36.journal, r36.year, r36.pmcid, r36.origin) == ("JAMA Oncol", 2024, "PMC10870227", "review")
    assert r36.sources == [Source(ref=36)]
    assert "ATOMIC-Meso" in r36.name and "JAMA Oncol 2024;10:475-83" in r36.summary
    r12 = by_id["ref:12"]
    assert not r12.captured and r12.text is None and r12.name == "Reference 12"
    assert "not captured" in r12.summary


def test_empty_records_dir_gives_the_references(tmp_path: Path, review):
    assert len(load_records(tmp_path, review)) == 206


def test_every_problem_is_reported(tmp_path: Path, review, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # files are shown relative to the working directory
    write(tmp_path, "a.yaml", AGENT.replace("  modality: enzyme therapy\n", "  modality: enzyme therapy\n  colour: blue\n"))
    pd_l1 = (BIOMARKER.replace("biomarker:ass1", "biomarker:pd-l1").replace("[{review: abstract}]", "[{ref: 250}]")
             .replace("  relevance:", "  related: [trial:nowhere]\n  relevance:"))
    write(tmp_path, "b.yaml", BIOMARKER + AGENT.replace("name: Pegargiminase", "name: Copy") + pd_l1)
    assert lines(validate_records(tmp_path, review)) == [
        ("a.yaml: agent:pegargiminase: colour: unknown field (typo?); allowed here: agent_class, approvals, code_names, id, "
        "mechanism, modality, name, notes, origin, related, sources, summary, synonyms, targets, type"),
        "b.yaml: biomarker:pd-l1: sources.0.ref: ref 250 is outside 1..206 (the review's reference numbers)",
        "b.yaml: agent:pegargiminase: id: duplicate id; already defined in a.yaml",
        "b.yaml: biomarker:pd-l1: related.0: 'trial:nowhere' points to no record",
    ]
    # a.yaml's schema problem does not free its id (the copy in b.yaml is still a duplicate), and its
    # link to biomarker:ass1 resolves (no cascade of "points to no record").
    with pytest.raises(MesochatError) as info:
        load_records(tmp_path, review)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("4 problem(s) in records: a.yaml: agent:pegargiminase: colour:")
    assert "mesochat corpus validate" in msg


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, review):
    write(tmp_path, "broken.yaml", BIOMARKER + "- id: term:x\n  type: term\n  name: [unclosed\n  summary: s\n")
    (problem,) = validate_records(tmp_path, review)
    assert problem.file.endswith("broken.yaml") and problem.record_id == "-"
    assert problem.message.startswith("YAML syntax error at line 12")


def test_duplicate_key_is_a_yaml_problem(tmp_path: Path, review):
    write(tmp_path, "dup.yaml", BIOMARKER + "  kind: gene\n")
    (problem,) = validate_records(tmp_path, review)
    assert "duplicate key 'kind'" in problem.message and "line 9" in problem.message


def test_file_shape_problems(tmp_path: Path, review):
    write(tmp_path, "map.yaml", "id: term:x\n")
    write(tmp_path, "types.yaml", """\
        - just a string
        - {id: ref:36, type: ref, name: x}
        - {id: gene:x, type: gene, name: x}
        - {id: term:y, name: y}
        """)
    got = lines(validate_records(tmp_path, review))
    assert len(got) == 5, got
    assert got[0].endswith("map.yaml: -: -: a records file must be a YAML list; start each record with '- id: ...'")
    assert got[1].endswith("types.yaml: #1: -: each list item must be a mapping with id, type, name, ...")
    assert got[2].endswith("types.yaml: ref:36: type: ref records are generated from the review's reference list; "
                           "cite a reference with a source {ref: N} instead")
    assert "types.yaml: gene:x: type: type 'gene' is unknown; use one of trial, agent" in got[3]
    assert got[4].endswith("types.yaml: term:y: type: type is missing; use one of trial, agent, biomarker, "
                           "mechanism, term")


def test_missing_records_dir_is_a_user_error(tmp_path: Path):
    with pytest.raises(MesochatError, match="does not exist"):
        validate_records(tmp_path / "nope")


def test_shipped_records_are_valid(review):
    """The records written for the product (corpus/records/*.yaml) load without any problem."""
    problems = validate_records(review=review)
    assert problems == [], "\n".join(map(str, problems[:20]))
