"""corpus.load_review on the real captures, and on broken copies of them."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from corpus import Reference, Review, load_review
from corpus.captures import parse_citation
from corpus.review import CAPTURES_DIR
from kernel.errors import MesochatError

FILLED = {9, 13, 34, 36, 97, 100, 173}
ABSTRACT_START = "Malignant pleural mesothelioma (MPM) remains one of the most aggressive thoracic malignancies"


@pytest.fixture(scope="module")
def review() -> Review:
    return load_review()


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    dst = tmp_path / "captures"
    shutil.copytree(CAPTURES_DIR, dst)
    return dst


def test_captures_ship_inside_the_package():
    assert CAPTURES_DIR == Path(__file__).resolve().parents[2] / "corpus" / "captures"
    assert "shared" not in CAPTURES_DIR.parts


def test_front_matter(review: Review):
    assert review.title == "Immunotherapy resistance and strategies in malignant pleural mesothelioma"
    assert review.title_zh == "恶性胸膜间皮瘤的免疫治疗耐药性及治疗策略"
    assert len(review.authors) == 11
    assert review.authors[0] == "Wanyi Xia" and review.authors[-1] == "Shengqiao Li"
    assert "Chunwei Li" in review.authors
    assert (review.journal, review.journal_abbrev, review.year) == ("Cancer Drug Resistance", "Cancer Drug Resist", 2026)
    assert review.doi == "10.20517/cdr.2025.215"
    assert review.license == "CC BY 4.0"
    assert review.keywords == [
        "Malignant pleural mesothelioma",
        "immunotherapy",
        "resistance to immune checkpoint inhibitors",
        "tumor microenvironment",
    ]
    assert review.citation.startswith("Xia W, et al. Immunotherapy resistance")


def test_abstract_once_and_clean(review: Review):
    a = review.abstract
    assert a.startswith(ABSTRACT_START)
    assert a.endswith("durable disease control in this challenging malignancy.")
    assert a.count(ABSTRACT_START) == 1
    assert a.count("argininosuccinate synthase 1 (ASS1)") == 1
    for residue in ("特别声明", "阅读", "生知库", "biocloudy", "|", "〈", "〉", "Abstract"):
        assert residue not in a
    assert 2500 < len(a) < 2800  # one copy, not two


def test_reference_list(review: Review):
    refs = review.references
    assert len(refs) == 206
    assert [r.n for r in refs] == list(range(1, 207))
    assert {r.n for r in refs if r.captured} == FILLED
    for r in refs:
        if r.n not in FILLED:
            assert (r.captured, r.text, r.authors, r.title, r.journal, r.year) == (False, None, [], None, None, None)
        else:
            assert r.text and "|" not in r.text
    assert review.reference(206).n == 206
    with pytest.raises(KeyError):
        review.reference(207)


def test_journal_references_are_split(review: Review):
    r36 = review.reference(36)
    assert r36.authors == ["Szlosarek PW", "Creelan BC", "Sarkodie T"]
    assert r36.et_al and r36.group == "ATOMIC-Meso Study Group"
    assert r36.title == ("Pegargiminase plus first-line chemotherapy in patients with nonepithelioid pleural "
                         "mesothelioma: the ATOMIC-Meso randomized clinical trial")
    assert (r36.journal, r36.year, r36.volume, r36.pages) == ("JAMA Oncol", 2024, "10", "475-83")
    assert r36.pmcid == "PMC10870227" and r36.url is None
    assert r36.short == "Szlosarek PW et al., JAMA Oncol 2024"

    r9 = review.reference(9)
    assert r9.authors == ["Felip E", "Popat S", "Dafni U"] and r9.group == "ETOP 13-18 BEAT-meso Collaborators"
    assert r9.title.endswith("results of the ETOP 13-18 BEAT-meso trial")  # glued "trial.Ann Oncol" split
    assert (r9.journal, r9.year, r9.volume, r9.pages, r9.pmcid) == ("Ann Oncol", 2025, "36", "548-60", None)

    r34 = review.reference(34)
    assert r34.group == "French Cooperative Thoracic Intergroup"
    assert "(IFCT-1501 MAPS2)" in r34.title and r34.title.endswith("non-comparative, phase 2 trial")
    assert (r34.journal, r34.year, r34.volume, r34.pages) == ("Lancet Oncol", 2019, "20", "239-53")

    r97 = review.reference(97)
    assert r97.authors == ["Aerts JG", "Belderbos R", "Baas P"] and r97.group == "DENIM team"
    assert r97.title.startswith("Dendritic cells loaded with allogeneic tumour cell lysate")
    assert (r97.journal, r97.year, r97.volume, r97.pages) == ("Lancet Oncol", 2024, "25", "865-78")

    r100 = review.reference(100)
    assert r100.authors == ["Pal RS", "Wahlang J", "Pal Y", "Chaitanya M", "Saxena S"]
    assert not r100.et_al and r100.group is None
    assert r100.title == "Precision oncology: transforming cancer care through personalized medicine"
    assert (r100.journal, r100.year, r100.volume, r100.pages) == ("Med Oncol", 2025, "42", "246")

    r173 = review.reference(173)
    assert r173.authors == ["Popat S", "Baas P", "Faivre-Finn C"] and r173.group == "ESMO Guidelines Committee"
    # The e-mail note between group and title is not part of the title.
    assert r173.title == ("Malignant pleural mesothelioma: ESMO Clinical Practice Guidelines for diagnosis, "
                          "treatment and follow-up")
    assert (r173.journal, r173.year, r173.volume, r173.pages) == ("Ann Oncol", 2022, "33", "129-42")


def test_web_reference(review: Review):
    r13 = review.reference(13)
    assert r13.authors == ["National Institute for Health and Care Excellence"]
    assert r13.title == "Nivolumab with ipilimumab for untreated unresectable malignant pleural mesothelioma"
    assert r13.url == "https://www.nice.org.uk/guidance/ta818"
    assert r13.accessed == "16 Mar 2026"
    assert (r13.journal, r13.year, r13.volume) == (None, None, None)


def test_citation_without_group_or_et_al():
    got = parse_citation("Smith AB, Jones C. A study of things.Nat Med2020;26:1-9")
    assert got["authors"] == ["Smith AB", "Jones C"] and not got["et_al"] and got["group"] is None
    assert (got["title"], got["journal"], got["year"], got["pages"]) == ("A study of things", "Nat Med", 2020, "1-9")
    got = parse_citation("Smith AB, et al. Plain title here.Cell2021;184:10-20")
    assert got["et_al"] and got["group"] is None and got["title"] == "Plain title here"


def test_uncaptured_reference_model():
    assert Reference(n=12, captured=False).short == "Reference 12"


# --- broken captures -------------------------------------------------------------------------------


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _expect_error(captures: Path, filename: str, *words: str) -> str:
    with pytest.raises(MesochatError) as info:
        load_review(captures)
    msg = str(info.value)
    assert "\n" not in msg
    assert filename in msg
    for w in words:
        assert w in msg
    return msg


def test_missing_file(captures: Path):
    (captures / "journal_page.txt").unlink()
    _expect_error(captures, "journal_page.txt", "missing")


def test_journal_without_title(captures: Path):
    _edit(captures / "journal_page.txt", "Immunotherapy resistance and strategies in malignant pleural mesothelioma\n", "")
    _expect_error(captures, "journal_page.txt", "title")


def test_aggregator_without_title(captures: Path):
    _edit(captures / "aggregator_page.txt", "Immunotherapy resistance and strategies in malignant pleural mesothelioma\n", "")
    _expect_error(captures, "aggregator_page.txt", "title")


def test_aggregator_without_abstract(captures: Path):
    path = captures / "aggregator_page.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("Abstract") + len("Abstract")] + "\n\n特别声明\n", encoding="utf-8")
    _expect_error(captures, "aggregator_page.txt", "abstract")


def test_journal_without_abstract(captures: Path):
    path = captures / "journal_page.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(ln for ln in lines if not ln.startswith(ABSTRACT_START)) + "\n", encoding="utf-8")
    _expect_error(captures, "journal_page.txt", "abstract")


def test_journal_without_reference_table(captures: Path):
    path = captures / "journal_page.txt"
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:4]) + "\n", encoding="utf-8")
    _expect_error(captures, "journal_page.txt", "reference table")


def test_wrong_reference_count(captures: Path):
    _edit(captures / "journal_page.txt", "| [150] |\n|\n", "")
    _expect_error(captures, "journal_page.txt", "205", "206", "missing 150")


def test_duplicate_reference_row(captures: Path):
    _edit(captures / "journal_page.txt", "| [151] |", "| [150] |")
    _expect_error(captures, "journal_page.txt", "[150]", "twice")


def test_differing_abstracts_prefer_journal(captures: Path, caplog: pytest.LogCaptureFixture):
    _edit(captures / "aggregator_page.txt", "remains one of the most aggressive", "is one of the most aggressive")
    with caplog.at_level(logging.WARNING, logger="mesochat.corpus"):
        review = load_review(captures)
    assert review.abstract.startswith(ABSTRACT_START)
    assert "abstracts differ" in caplog.text


def test_reload_sees_edits(captures: Path):
    assert load_review(captures).title_zh == "恶性胸膜间皮瘤的免疫治疗耐药性及治疗策略"
    _edit(captures / "aggregator_page.txt", "恶性胸膜间皮瘤的免疫治疗耐药性及治疗策略", "间皮瘤")
    assert load_review(captures).title_zh == "间皮瘤"
