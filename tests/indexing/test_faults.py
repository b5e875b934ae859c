"""Faults: the indexer killed at random moments, a full or read-only disk, damaged index files, and the
Chroma server dying mid-conversation. Each time the user gets one line saying what to do, the committed
index keeps answering, and the next run repairs.

Everything runs against the real parts: embedded Chroma on disk, `chroma run` servers, real MiniLM,
real SIGKILL, real tmpfs mounts (ENOSPC, read-only remount; an RLIMIT_FSIZE fallback where mounting
is not allowed).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.crash_campaign import run_crash_campaign
from kernel.errors import MesochatError
from tests.helpers import VENV_BIN, cli_env, copy_home, free_port, make_settings, synthetic_documents

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
OUTPUT = TESTS.parent / "test-output"
CHUNK_SIZE = 40


# --- helpers -----------------------------------------------------------------------------------------------


def one_line_error(stderr: str) -> str:
    """The CLI's error line; fails when a traceback or several error lines reached the user."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.startswith("mesochat: error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def mesochat(*args: str, env: dict | None = None, timeout: float = 600, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "mesochat"), *args], check=False, capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, preexec_fn=preexec)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small tmpfs at ``path`` (skips the test when this machine does not allow mounting)."""
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=False, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill_disk(directory: Path) -> Path:
    """Write zeros until the filesystem is full; returns the filler file."""
    filler = directory / "filler.bin"
    block = b"\0" * (1 << 20)
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(block)
                fh.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError), open(filler, "ab") as fh:  # the last few KB too
        while True:
            fh.write(b"\0" * 512)
            fh.flush()
    return filler


def answers_like_before(home: Path, want_ids: set[str]) -> None:
    """The committed index opens and both searches return only its chunks."""
    from indexing.index import open_index

    index = open_index(make_settings(home))
    assert set(index.chunks) == want_ids
    dense = [c for c, _ in index.dense_search("nivolumab and ipilimumab in mesothelioma", 5)]
    bm25 = [c for c, _ in index.bm25_search("nivolumab ipilimumab", 5)]
    assert dense and bm25 and set(dense) | set(bm25) <= want_ids


# --- damaged index files ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    """A committed index of 12 synthetic documents (embedded Chroma), to copy and damage."""
    from indexing.build import build_index

    home = tmp_path_factory.mktemp("faults") / "small"
    build_index(make_settings(home, chunk_size=CHUNK_SIZE), progress=False, documents=synthetic_documents(12))
    return home


def _gen(home: Path) -> Path:
    index_dir = home / "index" / "mesochat"
    return index_dir / json.loads((index_dir / "manifest.json").read_text())["generation"]


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = min(len(data) - 1, int(len(data) * at))
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "manifest_garbage": lambda h: (h / "index/mesochat/manifest.json").write_bytes(os.urandom(300)),
    "manifest_truncated": lambda h: (h / "index/mesochat/manifest.json").write_bytes(
        (h / "index/mesochat/manifest.json").read_bytes()[:100]),
    "manifest_not_a_dict": lambda h: (h / "index/mesochat/manifest.json").write_text("[1, 2, 3]"),
    "manifest_missing_key": lambda h: (h / "index/mesochat/manifest.json").write_text(json.dumps(
        {k: v for k, v in json.loads((h / "index/mesochat/manifest.json").read_text()).items() if k != "generation"})),
    "generation_missing": lambda h: shutil.rmtree(_gen(h)),
    "chunks_bitflip": lambda h: _flip(_gen(h) / "chunks.jsonl"),
    "docs_truncated": lambda h: (_gen(h) / "docs.jsonl").write_bytes((_gen(h) / "docs.jsonl").read_bytes()[:50]),
    "bm25_params_garbage": lambda h: (_gen(h) / "bm25/params.index.json").write_bytes(b"{not json"),
    "bm25_vocab_truncated": lambda h: (_gen(h) / "bm25/vocab.index.json").write_bytes(
        (_gen(h) / "bm25/vocab.index.json").read_bytes()[:20]),
    "bm25_data_garbage": lambda h: (_gen(h) / "bm25/data.csc.index.npy").write_bytes(os.urandom(64)),
    "bm25_indptr_missing": lambda h: (_gen(h) / "bm25/indptr.csc.index.npy").unlink(),
    "bm25_dir_missing": lambda h: shutil.rmtree(_gen(h) / "bm25"),
    "bm25_scores_bitflip": lambda h: _flip(_gen(h) / "bm25/data.csc.index.npy", 0.9),
}


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_damaged_index_is_detected_and_rebuild_repairs(small_home, tmp_path, damage):
    from indexing.build import build_index
    from indexing.index import open_index

    home = copy_home(small_home, tmp_path / "home")
    s = make_settings(home, chunk_size=CHUNK_SIZE)
    want = set(open_index(s).chunks)
    CORRUPTIONS[damage](home)
    with pytest.raises(MesochatError) as err:
        open_index(s)
    msg = str(err.value)
    assert "\n" not in msg and "mesochat index --rebuild" in msg, msg
    build_index(s, rebuild=True, progress=False, documents=synthetic_documents(12))
    assert set(open_index(s).chunks) == want


def test_damaged_manifest_via_cli_is_one_line(small_home, tmp_path):
    home = copy_home(small_home, tmp_path / "home")
    (home / "index/mesochat/manifest.json").write_bytes(b"\x00garbage")
    for args in (["index", "--stats"], ["index", "--quiet"]):
        p = mesochat(*args, "--home", str(home), "--chunk-size", str(CHUNK_SIZE))
        assert p.returncode == 2
        assert "mesochat index --rebuild" in one_line_error(p.stderr)


# --- full disk and read-only data directory --------------------------------------------------------------

NOTE = "Zebrafish QZX-17 marker note. The fictional QZX-17 marker was measured in 12 zebrafish cohorts.\n" * 40


def _indexed_ids(home: Path) -> set[str]:
    index_dir = home / "index" / "mesochat"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    lines = (index_dir / manifest["generation"] / "chunks.jsonl").read_text().splitlines()
    return {json.loads(ln)["id"] for ln in lines if ln}


def test_full_disk_is_one_line_and_old_index_answers(review_home, tmp_path):
    mnt = tmp_path / "disk"
    with tmpfs(mnt, "48m"):
        home = copy_home(review_home, mnt / "home")
        before = _indexed_ids(home)
        note = tmp_path / "note.txt"
        note.write_text(NOTE)
        filler = fill_disk(mnt)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
        line = one_line_error(p.stderr)
        assert "space" in line.lower() or "full" in line.lower(), line
        filler.unlink()  # the user frees space: the old index must still be whole
        answers_like_before(home, before)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 0, p.stderr[-2000:]
        assert len(_indexed_ids(home)) > len(before)


def test_file_size_limit_is_one_line(small_home, tmp_path):
    """Fallback for machines without mount: RLIMIT_FSIZE makes every large write fail with EFBIG."""
    home = copy_home(small_home, tmp_path / "home")
    before = _indexed_ids(home)
    note = tmp_path / "note.txt"
    note.write_text(NOTE * 50)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet",
                 "--chunk-size", str(CHUNK_SIZE), preexec=limit)
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    one_line_error(p.stderr)
    assert _indexed_ids(home) == before


def test_read_only_data_dir_is_one_line_and_old_index_answers(review_home, tmp_path):
    mnt = tmp_path / "ro"
    with tmpfs(mnt, "64m"):
        home = copy_home(review_home, mnt / "home")
        before = _indexed_ids(home)
        note = tmp_path / "note.txt"
        note.write_text(NOTE)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
        line = one_line_error(p.stderr)
        assert "read-only" in line.lower() or "permission" in line.lower(), line
        subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)
        answers_like_before(home, before)


# --- indexer killed at random moments --------------------------------------------------------------------

@pytest.mark.timeout(3600)  # ~5 min on two idle cores; a shared, loaded machine takes several times that
def test_indexer_killed_at_random_points_always_repairs(tmp_path):
    runs = int(os.environ.get("MESOCHAT_CRASH_RUNS", "20"))
    result = run_crash_campaign(tmp_path, runs, seed=int(os.environ.get("MESOCHAT_CRASH_SEED", "0")))
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "hardening-crash.json").write_text(json.dumps(result, indent=1))
    assert result["survived"] == result["tried"] >= 20 or runs < 20, result["failures"]
    assert not result["failures"]


# --- Chroma server killed mid-conversation ---------------------------------------------------------------


def start_chroma(path: Path, port: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=cli_env())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat",
                                                                  timeout=2):
            return proc
        time.sleep(0.3)
    proc.kill()
    pytest.fail("chroma run did not start")


def test_chroma_server_killed_mid_conversation(review_home, tmp_path):
    from assistant.api import Assistant
    from indexing.build import build_index

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "chroma-data"
    server = start_chroma(data, port, tmp_path / "chroma.log")
    try:
        home = tmp_path / "home"
        build_index(make_settings(home, chroma_url=url), progress=False)
        assistant = Assistant.load(home=home, chroma_url=url)
        chat = assistant.chat()
        first = chat.ask("What did CheckMate 743 show?")
        assert not first.abstained and first.citations

        server.send_signal(signal.SIGKILL)
        server.wait()
        # a question answered from a named record's fields needs no vector search: it still works
        assert not chat.ask("What was its hazard ratio?").abstained
        # free-text questions need the vector index (ones a record or the review's own lines answer do not: "why
        # does the tumour microenvironment blunt T cells?" is now answered from the mechanism's record)
        for question in ("What keeps T cells out of mesothelioma tumours?",
                         "How do tumours switch off attacking T cells?"):
            with pytest.raises(MesochatError) as err:
                chat.ask(question)
            msg = str(err.value)
            assert "\n" not in msg and "Chroma" in msg and url in msg, msg

        server = start_chroma(data, port, tmp_path / "chroma.log")  # same path, same port
        again = chat.ask("What did CheckMate 743 show?")  # the same Assistant and Chat objects
        assert not again.abstained and again.citations
        assert [c.source_id for c in again.citations] == [c.source_id for c in first.citations]
    finally:
        server.kill()
        server.wait()
