"""Nobody waits for a model load: `Assistant.load(warm=True)` (what `mesochat ui` uses) loads the embedding model
and answers one free-text question before it returns; `mesochat ui` says so before it serves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import cli_env, copy_home

pytestmark = pytest.mark.slow

PROBE = r"""
import json, sys
import indexing
from indexing import embedder
from assistant.api import Assistant

calls = []
original = embedder._load
embedder._load = lambda *a, **kw: (calls.append(embedder._model is None), original(*a, **kw))[1]
a = Assistant.load(home=sys.argv[1], warm=sys.argv[2] == "warm")
after_load = {"model_loaded": embedder._model is not None, "loads": calls.count(True)}
ans = a.ask("Why does the tumour microenvironment blunt T cells according to the review?")
print(json.dumps({**after_load, "loads_after_first_question": calls.count(True), "abstained": ans.abstained}))
"""


@pytest.mark.parametrize("warm", ["warm", "lazy"])
def test_assistant_load_warm_loads_the_model_before_the_first_question(review_home, tmp_path, warm):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    # real model, no test vector cache: the cache would answer without loading it
    p = subprocess.run([sys.executable, str(script), str(review_home), warm], capture_output=True, text=True,
                       env=cli_env(MESOCHAT_EMBED_CACHE=""), timeout=600, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.splitlines()[-1])
    if warm == "warm":
        assert got["model_loaded"] and got["loads"] == 1, got  # loaded inside Assistant.load
    else:
        assert not got["model_loaded"] and got["loads"] == 0, got  # the old lazy behaviour, for contrast
    assert got["loads_after_first_question"] == 1, got  # exactly one load either way


def test_ui_reports_ready_after_warming_up(review_home, tmp_path):
    from tests.ui.test_client import start_ui, stop

    log = tmp_path / "ui.log"
    proc, _url = start_ui(copy_home(review_home, tmp_path / "home"), log)
    try:
        text = log.read_text()
        assert "mesochat: ready in" in text and "one question answered" in text, text[-2000:]
        assert text.index("one question answered") < text.index("serving on http://"), text[-2000:]
    finally:
        stop(proc)
