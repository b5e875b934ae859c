"""Huge inputs: a 10 MB text file loads and chunks in bounded memory; a 1,000-page PDF is indexed by
`mesochat index --add` with a progress bar, bounded memory, and one page number per chunk.

Memory is the child's own peak RSS (VmHWM polled from /proc). The full embedding of the 10 MB file (about 11,500
chunks) is too slow for the suite on two shared cores: benchmarks/huge_inputs.py measures it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from benchmarks.huge_inputs import CHUNK_ONLY, run_measured, write_pdf, write_text
from tests.helpers import VENV_BIN, cli_env, copy_home, make_settings

pytestmark = pytest.mark.slow

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
TEXT_PEAK_MB = 800  # python + indexing imports + 10 MB of text and its ~11,500 chunks: ~100 MB measured
PDF_PEAK_MB = 3000  # + torch, MiniLM, embedded Chroma and 1,000 pages: well under 2 GB measured


def _record(name: str, figures: dict) -> None:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "hardening-huge.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=1))


def test_ten_mb_text_loads_and_chunks_in_bounded_memory(tmp_path):
    text = write_text(tmp_path / "huge.txt", 10)
    assert text.stat().st_size >= 10_000_000
    r = run_measured([sys.executable, "-c", CHUNK_ONLY, str(text)], env=cli_env(), timeout=600)
    assert r["returncode"] == 0, r["stderr"][-2000:]
    fields = dict(kv.split("=") for kv in r["stdout"].split())
    assert int(fields["chars"]) >= 10_000_000 and int(fields["chunks"]) > 5000
    _record("text_10mb_load_chunk", {"peak_rss_mb": r["peak_rss_mb"], "seconds": r["seconds"], **fields})
    assert r["peak_rss_mb"] < TEXT_PEAK_MB, r["peak_rss_mb"]


def test_thousand_page_pdf_is_indexed_with_progress_and_bounded_memory(review_home, tmp_path):
    from indexing.index import open_index

    home = copy_home(review_home, tmp_path / "home")
    pdf = write_pdf(tmp_path / "thousand-pages.pdf", 1000, words_per_page=40)
    r = run_measured([str(VENV_BIN / "mesochat"), "index", "--home", str(home), "--add", str(pdf)],
                     env=cli_env(), timeout=1800)
    assert r["returncode"] == 0, r["stderr"][-3000:]
    assert "Traceback" not in r["stderr"]
    # a tqdm bar: "Embedding:  40%|####      | 400/1000 [..., chunk/s]"
    assert "Embedding" in r["stderr"] and re.search(r"\d+/\d+ \[", r["stderr"]) and "chunk/s" in r["stderr"], \
        r["stderr"][-1500:]
    _record("pdf_1000_pages_index_add", {"peak_rss_mb": r["peak_rss_mb"], "seconds": r["seconds"],
                                         "summary": r["stdout"].strip().splitlines()[-1:]})
    assert r["peak_rss_mb"] < PDF_PEAK_MB, r["peak_rss_mb"]

    index = open_index(make_settings(home))
    pdf_chunks = [c for c in index.chunks.values() if c.source_type == "user"]
    assert {c.page for c in pdf_chunks} == set(range(1, 1001))  # every page is searchable, each chunk one page
    doc_text = index.doc_text(pdf_chunks[0].doc_id)
    assert all(doc_text[c.char_start : c.char_end] == c.text for c in pdf_chunks)
    hit = index.bm25_search("Page 777 reports cohort 777", 1)[0][0]
    assert index.chunks[hit].page == 777
