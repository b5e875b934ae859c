"""Figures (trial results, approvals): required evidence, secondary-only and weak-host findings, counts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from corpus import load_review
from corpus.figures import evidence_counts, is_weak
from corpus.models import Approval, Source, TrialResult
from corpus.records import check_records

TRIAL = """\
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
  arms:
    - {name: A, regimen: drug A}
    - {name: B, regimen: drug B}
  results:
    - endpoint: overall survival
      measure: os
      statement: A lived longer.
      arm_values: {A: "20 months", B: "18 months"}
      hazard_ratio: 0.8
      ci: "0.6-0.9"
      ci_level: 95
      sources: [{doi: 10.1000/x, evidence: primary, copy: "https://pmc.ncbi.nlm.nih.gov/articles/PMC1"}]
    - endpoint: grade 3-4 treatment-related adverse events
      measure: safety
      statement: Severe side effects were similar.
      arm_values: {A: "30%", B: "32%"}
      sources: [{url: "https://ascopost.com/x", evidence: secondary}]
    - endpoint: progression-free survival
      measure: pfs
      statement: PFS was longer with A.
      sources: [{url: "http://vintage46.com/index-314.html", evidence: secondary}]
"""
AGENT = """\
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
    - agency: FDA
      date: 2024-09-17
      indication: first line with chemotherapy
      basis: trial:t
      sources: [{url: "https://www.fda.gov/a", evidence: regulatory}]
"""


@pytest.fixture(scope="module")
def review():
    return load_review()


def write(folder: Path, text: str, name: str = "r.yaml") -> Path:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_figure_source_needs_evidence_and_ci_needs_level():
    base = {"endpoint": "OS", "measure": "os", "statement": "s"}
    TrialResult(**base, sources=[{"ref": 9, "evidence": "primary"}])
    with pytest.raises(ValidationError, match="lack 'evidence'"):
        TrialResult(**base, sources=[{"ref": 9, "evidence": "primary"}, {"ref": 9}])
    with pytest.raises(ValidationError, match="at least 1"):
        TrialResult(**base, sources=[])
    with pytest.raises(ValidationError, match="ci_level"):
        TrialResult(**base, ci="0.6-0.9", sources=[{"ref": 9, "evidence": "primary"}])
    with pytest.raises(ValidationError, match="timepoint"):
        TrialResult(**{**base, "measure": "os_rate"}, sources=[{"ref": 9, "evidence": "primary"}])
    with pytest.raises(ValidationError, match="lack 'evidence'"):
        Approval(agency="FDA", date="2020-10", indication="x", sources=[{"url": "https://www.fda.gov/a"}])
    for bad in ({"date": "Oct 2020"}, {"agency": "FDA-US"}, {"basis": "agent:x"}):
        with pytest.raises(ValidationError):
            Approval(**{"agency": "FDA", "date": "2020-10", "indication": "x",
                        "sources": [{"url": "https://www.fda.gov/a", "evidence": "regulatory"}], **bad})
    with pytest.raises(ValidationError, match="evidence"):
        Source(ref=9, evidence="press release")


def test_weak_host_means_the_address_read():
    assert is_weak(Source(url="https://www.vintage46.com/x", evidence="secondary"))
    assert is_weak(Source(doi="10.1000/x", copy="https://123dok.org/doc", evidence="primary"))
    assert not is_weak(Source(doi="10.1000/x", evidence="primary"))
    assert not is_weak(Source(url="https://mesowatch.org.example.com/x"))
    assert not is_weak(Source(url="https://ascopost.com/x"))


def test_loader_warns_secondary_only_and_weak_only_and_counts_by_best_source(tmp_path: Path, review):
    write(tmp_path, TRIAL + AGENT)
    records, problems, warnings = check_records(tmp_path, review)
    assert problems == []
    assert [(w.record_id, w.field.split(" ")[0], w.message.split(";")[0]) for w in warnings] == [
        ("trial:t", "results.1", "only secondary sources"),
        ("trial:t", "results.2", "rests only on weak hosts (mirror, staging or news repost)"),
    ]
    counts = evidence_counts(records)
    assert counts.total == {"trial": 3, "agent": 1}
    assert counts.by_level[("trial", "primary")] == 1 and counts.by_level[("trial", "secondary")] == 2
    assert counts.by_level[("agent", "regulatory")] == 1
    assert counts.weak_only == {"trial": 1}


def test_missing_evidence_is_a_problem_naming_the_result(tmp_path: Path, review):
    write(tmp_path, TRIAL.replace("evidence: primary, ", ""))
    _, problems, _ = check_records(tmp_path, review)
    assert [(p.record_id, p.field) for p in problems] == [("trial:t", "results.0")]
    assert "lack 'evidence'" in problems[0].message


def test_approval_basis_must_exist(tmp_path: Path, review):
    write(tmp_path, AGENT.replace("basis: trial:t", "basis: trial:nowhere"))
    _, problems, _ = check_records(tmp_path, review)
    assert [(p.field, p.message) for p in problems] == [("approvals.0.basis", "'trial:nowhere' points to no record")]


def test_host_classes_from_the_data_file():
    from corpus.figures import host_class, source_class

    assert host_class("sitmspapp.mimsdev.com") == "staging"
    assert host_class("preview.staging.example.org") == "staging"  # unlisted, but named as staging
    assert host_class("raw.githubusercontent.com") == "github"
    assert host_class("user.github.io") == "github"
    assert host_class("www.mesothelioma-line.com") == "aggregator"
    assert host_class("ichgcp.net") == "aggregator"
    assert host_class("pubmed.ncbi.nlm.nih.gov") == "index"
    assert host_class("clinicaltrials.gov") == "registry"
    assert host_class("www.ema.europa.eu") == "regulator"
    assert host_class("oncologypro.esmo.org") == "society"
    assert host_class("err.ersjournals.com") == "publisher"
    assert host_class("ascopost.com") == "news"
    assert host_class("example.com") == "unlisted"
    assert source_class(Source(doi="10.1000/x", evidence="primary")) == "locator"
    # the copy read decides, not the url cited
    assert source_class(Source(url="https://www.ejcancer.com/x", copy="https://biomed.news/y")) == "aggregator"


STAGED = TRIAL + """    - endpoint: objective response rate
      measure: orr
      statement: More responded with A.
      sources:
        - {url: "https://sitmspapp.mimsdev.com/r", evidence: secondary}
        - {url: "https://ascopost.com/y", evidence: secondary}
    - endpoint: overall survival, subgroup
      measure: os
      statement: Subgroup.
      sources:
        - {url: "https://raw.githubusercontent.com/o/r/x.md", evidence: secondary, copy_reason: "no other copy"}
"""


def test_staging_and_github_copies_need_a_reason_aggregator_only_is_counted(tmp_path: Path, review):
    write(tmp_path, STAGED + AGENT)
    records, problems, _ = check_records(tmp_path, review)
    assert problems == []
    counts = evidence_counts(records)
    # vintage46.com (an aggregator) is the only copy of results.2: kept, listed, not a failure
    assert [(f.record.id, f.field) for f in counts.aggregator_only] == [("trial:t", "results.2")]
    # a staging copy beside a proper one still needs its reason; a GitHub copy with a reason passes
    assert [(f.field, s.url) for f, s in counts.staging_sources] == [
        ("results.3", "https://sitmspapp.mimsdev.com/r"),
        ("results.4", "https://raw.githubusercontent.com/o/r/x.md"),
    ]
    assert [(f.field, s.url) for f, s in counts.staging_unexplained] == [("results.3", "https://sitmspapp.mimsdev.com/r")]


def test_shipped_records_explain_every_staging_or_github_copy_and_classify_every_host(review):
    records, problems, _ = check_records(review=review)
    assert problems == []
    counts = evidence_counts(records)
    bad = [f"{f.record.id} {f.field} ({f.label}): {s.copy or s.url}" for f, s in counts.staging_unexplained]
    assert bad == [], "staging/GitHub copies without copy_reason: " + "; ".join(bad)
    assert dict(counts.unlisted_hosts) == {}, "classify these hosts in corpus/source_hosts.yaml"


def test_shipped_aggregator_only_figures_are_secondary_and_name_what_they_copy(review):
    """Kept aggregator-only figures must say honestly what they are: secondary, with a note naming the original."""
    records, _, _ = check_records(review=review)
    for f in evidence_counts(records).aggregator_only:
        for s in f.sources:
            assert s.evidence == "secondary", f"{f.record.id} {f.field}: an aggregator copy is cited as secondary"
            assert s.note and ("copy" in s.note or "re-post" in s.note or "mirror" in s.note), (
                f"{f.record.id} {f.field}: the note must say which original the aggregator copy reproduces")
