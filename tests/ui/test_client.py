"""`mesochat ui` as a real subprocess, driven by gradio_client: cited answers over the API, per-session
follow-ups, the source endpoint, file access limits, login, and CLI errors."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import VENV_BIN, cli_env, copy_home, free_port, make_settings

pytestmark = pytest.mark.slow

EVERYTHING = ["review", "record", "user"]


def start_ui(home: Path, log_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(VENV_BIN / "mesochat"), "ui", "--home", str(home), "--port", str(port), *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=cli_env())
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"mesochat ui exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except urllib.error.HTTPError:
            return proc, url  # it answers (e.g. 401 behind --auth)
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mesochat ui did not answer within 180 s: {log_path.read_text()[-2000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def served(review_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui_client")
    home = copy_home(review_home, root / "home")
    proc, url = start_ui(home, root / "ui.log")
    try:
        yield {"url": url, "home": home, "log": root / "ui.log"}
    finally:
        stop(proc)


def content(message: dict) -> str:
    """A chatbot message's text, whatever shape the client returns it in."""
    value = message["content"]
    if isinstance(value, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in value)
    return value if isinstance(value, str) else str(value)


def chat(client, question: str, mode: str = "extractive", k: int = 8, sources=EVERYTHING, record_types=()):
    chatbot, _box, copy, details = client.predict(question, mode, k, list(sources), list(record_types),
                                                 api_name="/chat")
    return chatbot, copy, details


def test_client_gets_a_cited_answer_whose_quotes_are_in_the_index(served):
    from gradio_client import Client

    from indexing.index import open_index

    client = Client(served["url"], verbose=False)
    chatbot, copy, details = chat(client, "What did CheckMate 743 show?")
    assert not details["abstained"] and details["citations"]
    index = open_index(make_settings(served["home"]))
    for c in details["citations"]:
        assert index.doc_text(c["doc_id"])[c["char_start"]:c["char_end"]] == c["text"]
    last = content(chatbot[-1])
    assert "mc-cite-0-1" in last and "Sources" in last
    assert copy.startswith(details["answer"]) and "Sources:\n[1] " in copy
    assert content(chatbot[-2]).count("CheckMate 743") == 1  # the question, escaped, as the user bubble

    # the source endpoint of the same session renders the quote highlighted inside its document
    panel = client.predict("0:1", api_name="/source")
    first = next(c for c in details["citations"] if c["n"] == 1)
    from ui.render import esc

    assert f'<mark class="mc-quote">{esc(first["text"])}' in panel.replace("<br>", "\n")
    assert "not part of this conversation" in client.predict("7:1", api_name="/source")


def test_follow_up_is_rewritten_and_shown(served):
    from gradio_client import Client

    client = Client(served["url"], verbose=False)
    chat(client, "What is pegargiminase?")
    chatbot, _, details = chat(client, "Which trial tested it?")
    assert details["rewritten_query"] and details["rewritten_query"] != "Which trial tested it?"
    assert "Searched as:" in content(chatbot[-1])
    # another client is another session: no history, so no rewriting
    chatbot, _, fresh = chat(Client(served["url"], verbose=False), "Which trial tested it?")
    assert fresh["rewritten_query"] in (None, "Which trial tested it?")
    assert "Searched as:" not in content(chatbot[-1])


def test_bad_input_becomes_a_chat_message_not_a_traceback(served):
    from gradio_client import Client

    client = Client(served["url"], verbose=False)
    chatbot, _, _ = chat(client, "x" * 2100)
    assert "mc-error" in content(chatbot[-1]) and "limit is 2,000" in content(chatbot[-1])
    chatbot, _, _ = chat(client, "What is ASS1?", sources=[])
    assert "No sources are selected" in content(chatbot[-1])
    chatbot, _, _ = chat(client, "What is ASS1?", mode="llm")  # no LLM configured for this server
    assert "mc-error" in content(chatbot[-1]) and "Traceback" not in content(chatbot[-1])
    assert "Traceback" not in served["log"].read_text()


def test_only_the_apps_own_files_are_served(served):
    manifest = next((served["home"] / "index").rglob("manifest.json"))
    for path in (manifest, Path("/etc/passwd"), Path(__file__)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{served['url']}gradio_api/file={path}", timeout=10)
        assert err.value.code in (403, 404), path


def test_auth_protects_the_app(review_home, tmp_path):
    from gradio_client import Client

    proc, url = start_ui(review_home, tmp_path / "auth.log", "--auth", "ann:s3cret")
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{url}config", timeout=10)
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do; the next line proves the login
            Client(url, verbose=False, auth=("ann", "wrong"))
        _, _, details = chat(Client(url, verbose=False, auth=("ann", "s3cret")), "What is ASS1?")
        assert details["citations"]
    finally:
        stop(proc)


def test_cli_rejects_bad_options_in_one_line(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "mesochat"), "ui", "--home", str(tmp_path), *args], check=False,
                              capture_output=True, text=True, env=cli_env(), timeout=120)

    bad_auth = run("--auth", "nopassword")
    assert bad_auth.returncode == 2
    assert bad_auth.stderr.strip() == "mesochat: error: --auth must look like user:password (both parts non-empty)"
    # a public interface without --auth warns (the bad mode stops it before anything is bound)
    public = run("--host", "0.0.0.0", "--mode", "bogus")
    assert public.returncode == 2
    assert "warning: serving on 0.0.0.0 without --auth" in public.stderr
    assert "Unknown answer mode 'bogus'" in public.stderr and "Traceback" not in public.stderr
    assert not (tmp_path / "index").exists()  # nothing was built for a command that failed
