"""`mesochat ask` and `mesochat chat` as a user runs them (subprocesses, real index)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_env

MESOCHAT = Path(sys.executable).parent / "mesochat"


def run(*args: str, stdin: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [str(MESOCHAT)] if MESOCHAT.exists() else [sys.executable, "-m", "mesochat"]
    return subprocess.run([*cmd, *args], check=False, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=cli_env())


def test_ask_json_prints_to_dict(review_home):
    proc = run("ask", "What is ADI-PEG 20?", "--json", "--home", str(review_home))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["question"] == "What is ADI-PEG 20?"
    assert data["abstained"] is False
    assert data["mode"] == "extractive"
    # the glossary expansion of the code name, then the drug it names
    assert list(dict.fromkeys(c["record_id"] for c in data["citations"])) == ["term:adi-peg-20", "agent:pegargiminase"]
    assert "[1]" in data["answer"]


def test_ask_prints_answer_and_numbered_sources(review_home):
    proc = run("ask", "Which journal published BEAT-meso?", "--home", str(review_home), "--k", "5")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Ann Oncol" in out
    assert "Sources" in out and "[1] " in out
    # the locator reads document > field first: the trial record's publication field
    assert "BEAT-meso (ETOP 13-18) (trial record) › publication" in out.replace("\n", " ")


def test_ask_off_topic_abstains(review_home):
    proc = run("ask", "What is the capital of France?", "--json", "--home", str(review_home))
    data = json.loads(proc.stdout)
    assert data["abstained"] is True and data["citations"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", ""], "empty"),
        (["ask", "   "], "empty"),
        (["ask", "x" * 2001], "limit is 2,000"),
        (["ask", "What is\x07 this?"], "control character"),
        (["ask", "What is ADI-PEG 20?", "--mode", "magic"], "answer mode"),
        (["ask", "What is ADI-PEG 20?", "--k", "0"], "k must be"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message):
    proc = run(*args, "--home", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesochat: error:") and message in lines[0], proc.stderr


def test_missing_index_is_one_line(tmp_path):
    proc = run("ask", "What is ADI-PEG 20?", "--home", str(tmp_path / "nothing"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "mesochat index" in proc.stderr


def test_chat_reads_piped_lines_and_resolves_follow_up(review_home):
    proc = run("chat", "--json", "--home", str(review_home),
               stdin="What is BEAT-meso?\n\nwhich journal published it?\n\x07bad\nexit\nnever asked\n")
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(answers) == 2
    assert answers[1]["rewritten_query"] == "Which journal published BEAT-meso?"
    # the trial record's publication field, then the review's own reference entry for it
    assert [c["record_id"] for c in answers[1]["citations"]] == ["trial:beat-meso", "ref:9"]
    # The bad line got a one-line error and the conversation went on; "exit" ended it.
    assert proc.stderr.count("mesochat: error:") == 1 and "Traceback" not in proc.stderr


def test_chat_plain_output_until_eof(review_home):
    proc = run("chat", "--home", str(review_home), stdin="What is TRuC?\n")
    assert proc.returncode == 0, proc.stderr
    assert "T-cell receptor fusion construct" in proc.stdout
    assert "Sources" in proc.stdout
