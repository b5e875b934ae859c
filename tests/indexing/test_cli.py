"""`mesochat index` as a user runs it: a subprocess, one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_env

pytestmark = pytest.mark.slow

MESOCHAT = str(Path(sys.executable).parent / "mesochat")


def mesochat(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MESOCHAT, "index", *args],
        capture_output=True,
        text=True,
        env=cli_env(COLUMNS="250"),  # rich wraps long paths at 80 columns otherwise
        timeout=600,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("mesochat: error:")]


def test_add_good_and_bad_files_then_stats(review_home_copy, tmp_path):
    home = str(review_home_copy)
    good = tmp_path / "talc.md"
    good.write_text(
        "# Talc pleurodesis\n\nThoracoscopic talc poudrage controlled effusions in most patients.\n"
    )
    bad = tmp_path / "scan.docx"
    bad.write_bytes(b"PK\x03\x04 not supported here")
    manifest_before = json.loads((review_home_copy / "index/mesochat/manifest.json").read_text())

    p = mesochat("--home", home, "--quiet", "--add", str(good), str(bad))
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    (err,) = error_lines(p.stderr)
    assert "scan.docx" in err and "unsupported file type" in err
    assert "1 added" in p.stdout and "0 changed" in p.stdout  # only the good file was new
    manifest = json.loads((review_home_copy / "index/mesochat/manifest.json").read_text())
    added = set(manifest["documents"]) - set(manifest_before["documents"])
    assert len(added) == 1 and manifest["documents"][added.pop()]["path"] == str(good.resolve())
    assert set(manifest_before["documents"]) <= set(manifest["documents"])  # the rest is unchanged

    p = mesochat("--home", home, "--quiet")
    assert p.returncode == 0 and re.fullmatch(r"Index up to date: 0 chunks embedded; \d+ vectors, all reachable", p.stdout.strip()), (
        p.stdout, p.stderr)

    p = mesochat("--home", home, "--stats")
    assert p.returncode == 0, p.stderr
    for label in (
        "Documents",
        "Chunks",
        "trial",
        "Model",
        "all-MiniLM-L6-v2",
        "Data directory",
        "Size on disk",
    ):
        assert label in p.stdout
    assert "talc.md" in p.stdout and "Last build" in p.stdout and " MB" in p.stdout


def test_one_line_errors(review_home_copy, tmp_path):
    cases = [
        (("--home", str(review_home_copy), "--chunk-size", "90"), r"was built with chunk_size=160 (now 90)"),
        (("--home", str(tmp_path / "empty"), "--stats"), "No index in"),
        (("--home", str(review_home_copy), "--add"), "--add needs at least one file"),
        (
            ("--home", str(review_home_copy), "--quiet", "--chroma-url", "http://127.0.0.1:9"),
            "chroma run --path",
        ),
    ]
    for args, expected in cases:
        p = mesochat(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        (err,) = error_lines(p.stderr)
        assert expected in err, err
    missing = tmp_path / "nope.pdf"
    p = mesochat("--home", str(review_home_copy), "--quiet", "--add", str(missing))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    (err,) = error_lines(p.stderr)
    assert "nope.pdf" in err and "no such file" in err
    assert "Index up to date" in p.stdout  # nothing else changed
