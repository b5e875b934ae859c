"""Every loader on fixtures generated here: PDF (hand-written, real text operators), encrypted and corrupt
PDFs, HTML with page chrome, Markdown, plain text, JATS XML, and the user errors."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from indexing.chunker import chunk_document
from indexing.loaders import load_path
from kernel.documents import Document
from kernel.errors import MesochatError


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF whose pages draw the given lines with Helvetica (extractable by pypdf)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td", *(f"({esc(line)}) Tj T*" for line in lines), "ET"]
        stream = "\n".join(ops).encode("latin-1")
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info = ""
    if title:
        objs.append(f"<< /Title ({esc(title)}) >>".encode("latin-1"))
        info = f" /Info {len(objs)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


PAGE1 = [
    "Results",
    "Nivolumab plus ipilimumab improved overall survival vs. chemotherapy",
    "(HR 0.74; p = 0.002). Baas et al. reported this in 2021.",
]
PAGE2 = ["Discussion", "Resistance remains common in sarcomatoid tumours."]


def _check(doc: Document, path: Path, fmt: str) -> None:
    assert doc.source_type == "user"
    assert doc.doc_id == f"user:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    assert doc.metadata["path"] == str(path.resolve())
    assert doc.metadata["filename"] == path.name and doc.metadata["format"] == fmt
    for sec in doc.sections:
        assert doc.text[sec.start : sec.end].strip()
    for c in chunk_document(doc):
        assert doc.text[c.char_start : c.char_end] == c.text


def _sections(doc: Document) -> dict[str, str]:
    return {s.path: doc.text[s.start : s.end] for s in doc.sections}


def test_pdf_pages_and_text(tmp_path: Path) -> None:
    path = tmp_path / "trial.pdf"
    path.write_bytes(make_pdf([PAGE1, PAGE2], title="A test report"))
    assert "HR 0.74" in PdfReader(path).pages[0].extract_text()  # the fixture really contains text
    doc = load_path(path)
    _check(doc, path, "pdf")
    assert doc.title == "A test report" and doc.metadata["pages"] == 2
    assert [(s.path, s.page) for s in doc.sections] == [("Page 1", 1), ("Page 2", 2)]
    page1 = _sections(doc)["Page 1"]
    assert page1.startswith("Results\n\n")  # the heading line is its own paragraph
    assert "improved overall survival vs. chemotherapy (HR 0.74; p = 0.002)." in page1  # wrapped lines joined
    chunks = chunk_document(doc)
    assert {c.page for c in chunks} == {1, 2}
    assert any("sarcomatoid" in c.text and c.page == 2 for c in chunks)


def test_pdf_identity_is_content_hash(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(make_pdf([PAGE1]))
    b.write_bytes(make_pdf([PAGE1]))
    assert load_path(a).doc_id == load_path(b).doc_id
    b.write_bytes(make_pdf([PAGE2]))
    assert load_path(a).doc_id != load_path(b).doc_id


def test_encrypted_pdf(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([PAGE1]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(MesochatError) as err:
        load_path(path)
    assert str(err.value).startswith(f"{path}: encrypted PDF; decrypt it first")

    # Permission-only encryption (empty user password) opens normally.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([PAGE1]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    open_path = tmp_path / "perm.pdf"
    with open_path.open("wb") as fh:
        writer.write(fh)
    assert "HR 0.74" in load_path(open_path).text


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\n1 0 obj << /Type /Catalog", b"this is not a pdf at all", make_pdf([PAGE1])[:180]],
)
def test_corrupt_pdf(tmp_path: Path, content: bytes, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(MesochatError) as err:
        load_path(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: not a readable PDF (") and "\n" not in msg
    assert "EOF marker" not in capfd.readouterr().err  # pypdf's own warnings are not shown to the user


def test_pdf_without_text(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    with pytest.raises(MesochatError, match=r"scan\.pdf: no text could be extracted \(scanned PDF\?\)"):
        load_path(path)


HTML = """<!DOCTYPE html><html><head><title>PD-L1 and response</title>
<style>body { color: red }</style><script>var tracking = "SECRET_SCRIPT";</script></head>
<body><header><a href="/">Journal home</a> SITE_HEADER</header>
<nav><ul><li>NAV_LINK one</li><li>NAV_LINK two</li></ul></nav>
<main><article>
<h1>PD-L1 expression and response</h1>
<p>PD-L1 was measured by IHC (22C3) in 120 patients, e.g. in <b>archival</b> tissue.</p>
<div>Loose text in a div without a paragraph.</div>
<h2>Results</h2><p>Responses were more frequent when PD-L1 was &ge;1% (p = 0.03).</p>
<h3>Subgroups</h3><ul><li>Epithelioid: 20%</li><li>Sarcomatoid: 45%</li></ul>
<table><tr><th>Arm</th><th>ORR</th></tr><tr><td>Nivo+Ipi</td><td>40%</td></tr></table>
<h2>Discussion</h2><p>Findings agree with earlier trials.</p>
<form><label>Email</label><input name="e"> FORM_TEXT</form>
</article></main>
<aside>ASIDE_RELATED articles</aside><footer>FOOTER_COPYRIGHT 2026</footer>
</body></html>"""


def test_html_main_text_and_sections(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    doc = load_path(path)
    _check(doc, path, "html")
    assert doc.title == "PD-L1 and response"
    for junk in (
        "SECRET_SCRIPT",
        "color: red",
        "SITE_HEADER",
        "NAV_LINK",
        "FORM_TEXT",
        "ASIDE_RELATED",
        "FOOTER",
    ):
        assert junk not in doc.text
    secs = _sections(doc)
    assert list(secs) == [
        "PD-L1 expression and response",
        "PD-L1 expression and response > Results",
        "PD-L1 expression and response > Results > Subgroups",
        "PD-L1 expression and response > Discussion",
    ]
    assert "e.g. in archival tissue." in secs["PD-L1 expression and response"]
    assert "Loose text in a div without a paragraph." in secs["PD-L1 expression and response"]
    assert (
        "more frequent when PD-L1 was \u22651% (p = 0.03)." in secs["PD-L1 expression and response > Results"]
    )
    sub = secs["PD-L1 expression and response > Results > Subgroups"]
    assert "Epithelioid: 20%\n\nSarcomatoid: 45%" in sub and "Nivo+Ipi 40%" in sub


def test_html_title_falls_back_to_h1_then_filename(tmp_path: Path) -> None:
    path = tmp_path / "x.htm"
    path.write_text("<html><body><h1>Only heading</h1><p>Body text.</p></body></html>", encoding="utf-8")
    assert load_path(path).title == "Only heading"
    path2 = tmp_path / "y.html"
    path2.write_text("<p>Just a paragraph.</p>", encoding="utf-8")
    assert load_path(path2).title == "y.html"


MARKDOWN = """---
title: Arginine deprivation notes
---
# ADI-PEG 20 in mesothelioma

Pegargiminase (ADI-PEG 20) depletes **arginine**; see [the ATOMIC-Meso paper](https://example.org/x).

## Trials

ATOMIC-Meso enrolled nonepithelioid MPM.
It used pemetrexed-platinum.

Biomarkers
----------

ASS1 loss by IHC, e.g. in 50% of cells.

```
# not a heading inside code
```
"""


def test_markdown_headings_and_inline(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = load_path(path)
    _check(doc, path, "markdown")
    assert doc.title == "Arginine deprivation notes"
    secs = _sections(doc)
    top, trials, markers = "ADI-PEG 20 in mesothelioma", "ADI-PEG 20 in mesothelioma > Trials", "Biomarkers"
    assert list(secs) == [top, trials, f"{top} > {markers}"]  # setext "---" is a level-2 heading
    assert "depletes arginine; see the ATOMIC-Meso paper." in secs[top] and "https://" not in doc.text
    assert "title:" not in doc.text
    assert "# not a heading inside code" in secs[f"{top} > {markers}"]


def test_plain_text_paragraphs_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(
        "First paragraph, HR 0.74.\r\nStill first.\r\n\r\nSecond \u00b5g paragraph.\r\n".encode()
    )
    doc = load_path(path)
    _check(doc, path, "text")
    assert doc.text == "First paragraph, HR 0.74.\nStill first.\n\nSecond \u00b5g paragraph."
    assert doc.title == "notes.txt"


def test_big_text_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    para = "Median OS was 18.1 vs. 14.1 months (HR 0.74; 95% CI 0.60-0.91; p = 0.002) per Baas et al. [5]. "
    with path.open("w", encoding="utf-8") as fh:
        for i in range(10 * 1024 * 1024 // (len(para) * 5 + 2)):
            fh.write(para * 5 + "\n\n")
    assert path.stat().st_size > 9 * 1024 * 1024
    doc = load_path(path)
    chunks = chunk_document(doc)
    assert len(chunks) > 10000
    assert all(doc.text[c.char_start : c.char_end] == c.text for c in chunks[::500])


JATS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2 20190208//EN"
  "JATS-archivearticle1.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
<front><article-meta>
  <title-group><article-title>Pegargiminase plus chemotherapy in <italic>nonepithelioid</italic> mesothelioma</article-title></title-group>
  <abstract><sec><title>Importance</title><p>Arginine deprivation is a novel strategy.</p></sec>
  <sec><title>Results</title><p>Median OS was 9.3 vs. 7.7 months (HR 0.71; 95% CI 0.55-0.93).</p></sec></abstract>
</article-meta></front>
<body>
<sec><title>Introduction</title><p>ASS1 loss is common in sarcomatoid MPM <xref ref-type="bibr" rid="r1">[1]</xref>.</p>
  <sec><title>Rationale</title><p>Tumours lacking ASS1 need external arginine.</p>
  <table-wrap><label>Table 1</label><caption><p>Baseline characteristics.</p></caption>
   <table><tr><td>TABLE_CELL_MARKUP</td></tr></table></table-wrap></sec>
</sec>
<sec><title>Methods</title><p>Patients were randomised 1:1.</p></sec>
</body>
<back><ref-list><ref id="r1"><mixed-citation>REFERENCE_TEXT Smith J. Some paper.</mixed-citation></ref></ref-list></back>
</article>"""


def test_jats_sections(tmp_path: Path) -> None:
    path = tmp_path / "pmc.nxml"
    path.write_text(JATS, encoding="utf-8")
    doc = load_path(path)
    _check(doc, path, "jats")
    assert doc.title == "Pegargiminase plus chemotherapy in nonepithelioid mesothelioma"
    secs = _sections(doc)
    assert list(secs) == [
        "Title",
        "Abstract > Importance",
        "Abstract > Results",
        "Introduction",
        "Introduction > Rationale",
        "Methods",
    ]
    assert "(HR 0.71; 95% CI 0.55-0.93)" in secs["Abstract > Results"]
    assert "sarcomatoid MPM [1]." in secs["Introduction"]
    assert "Table 1 Baseline characteristics." in secs["Introduction > Rationale"]
    assert "TABLE_CELL_MARKUP" not in doc.text and "REFERENCE_TEXT" not in doc.text


def test_xml_that_is_not_jats(tmp_path: Path) -> None:
    path = tmp_path / "data.xml"
    path.write_text("<?xml version='1.0'?><catalog><item>x</item></catalog>", encoding="utf-8")
    with pytest.raises(
        MesochatError, match=r"data\.xml: XML but not a JATS/PMC article \(root element <catalog>\)"
    ):
        load_path(path)
    bad = tmp_path / "bad.xml"
    bad.write_text("<article><front>", encoding="utf-8")
    with pytest.raises(MesochatError, match=r"bad\.xml: not well-formed XML"):
        load_path(bad)


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP_SECRET_CONTENT", encoding="utf-8")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE article [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<article><body><p>Before &x; after.</p></body></article>",
        encoding="utf-8",
    )
    doc = load_path(path)
    assert "TOP_SECRET_CONTENT" not in doc.text and "Before" in doc.text


def test_content_sniffing_beats_suffix(tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes(make_pdf([PAGE2]))
    assert load_path(path).metadata["format"] == "pdf"
    page = tmp_path / "saved_page"
    page.write_text("<!doctype html><html><body><p>Saved page text.</p></body></html>", encoding="utf-8")
    assert load_path(page).text == "Saved page text."


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        (
            "slides.pptx",
            b"PK\x03\x04binary",
            r"slides\.pptx: unsupported file type \.pptx; convert it to PDF",
        ),
        ("noext", b"just some words", r"noext: unsupported file type \(no suffix\)"),
        ("empty.txt", b"", r"empty\.txt: the file is empty"),
        (
            "latin1.txt",
            "caf\u00e9 na\u00efve".encode("latin-1"),
            r"latin1\.txt: not valid UTF-8 text .*re-save it as UTF-8",
        ),
        ("binary.txt", b"\x00\x01\x02abc", r"binary\.txt: looks like a binary file"),
        ("blank.md", b"   \n\n  \n", r"blank\.md: no text found"),
        ("script.html", b"<html><script>x()</script></html>", r"script\.html: no text found"),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, name: str, content: bytes, pattern: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MesochatError, match=pattern) as err:
        load_path(path)
    assert "\n" not in str(err.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MesochatError, match="no such file"):
        load_path(tmp_path / "nope.pdf")
    with pytest.raises(MesochatError, match="is a directory"):
        load_path(tmp_path)


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "u16.txt"
    path.write_bytes("PD-1 blockade \u2013 first line.".encode("utf-16"))
    assert load_path(path).text == "PD-1 blockade \u2013 first line."
