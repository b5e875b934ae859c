"""The browser app in Debian's Chromium (Playwright): ask, click a [n], read the source panel; XSS stays inert.

One app per module, launched in a thread on a free loopback port over a copy of ``review_home`` to
which an HTML "user document" carrying script/img payloads (as text and as markup) was added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TEST_OUTPUT, copy_home, free_port, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = TEST_OUTPUT / "ui-chat.png"
ANSWER_TIMEOUT_MS = 120_000  # two shared cores: the first answer also warms the embedder

XSS_HTML = """<html><head><title>Zebrafish &lt;img src=x onerror="window.__xss=2"&gt; note</title>
<script>window.__xss=1</script></head><body>
<h1>Zebrafish payload note</h1>
<p>The zebrafish tolerance marker QZX-17 was studied in a fictional note whose payload is
&lt;script&gt;window.__xss=1&lt;/script&gt; written as text.</p>
<p>The zebrafish QZX-17 note also carries &lt;img src=x onerror="window.__xss=1"&gt; as an image payload.</p>
<img src=x onerror="window.__xss=1">
</body></html>
"""


@pytest.fixture(scope="module")
def ui_app(review_home, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from assistant import api
    from indexing.build import build_index
    from ui.app import build_app, launch

    root = tmp_path_factory.mktemp("ui_browser")
    home = copy_home(review_home, root / "home")
    doc = root / "zebrafish-note.html"
    doc.write_text(XSS_HTML)
    settings = make_settings(home)
    build_index(settings, extra_paths=[doc], progress=False)
    assistant = api.Assistant.load(home=home)
    demo = build_app(assistant, settings)
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "settings": settings, "assistant": assistant}
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, ui_app):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.requests = []  # every URL the page asked for: must all be the app's own
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.goto(ui_app["url"])
    pg.wait_for_selector("#mc-question textarea", timeout=60_000)
    yield pg
    context.close()


def ask(page, question: str) -> None:
    """Type a question, press Enter, wait until its answer (or error) has finished streaming."""
    done = page.locator("#mc-chatbot .mc-answer:not(.mc-pending), #mc-chatbot .mc-error").count()
    page.fill("#mc-question textarea", question)
    page.press("#mc-question textarea", "Enter")
    wait_answers(page, done + 1)


def wait_answers(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#mc-chatbot .mc-answer:not(.mc-pending), #mc-chatbot .mc-error')"
        ".length >= n", arg=n, timeout=ANSWER_TIMEOUT_MS)


def last_answer(page):
    return page.locator("#mc-chatbot .mc-answer:not(.mc-pending), #mc-chatbot .mc-error").last


def norm(text: str) -> str:
    return " ".join(text.split())


def open_marker(page, marker) -> str:
    """Click a [n] marker; return the text of the highlighted quote in the source panel."""
    before = page.inner_html("#mc-source-panel")
    marker.click()
    page.wait_for_function("b => document.querySelector('#mc-source-panel').innerHTML !== b "
                           "&& document.querySelector('#mc-source-panel mark.mc-quote')", arg=before, timeout=30_000)
    return norm(" ".join(page.locator("#mc-source-panel mark.mc-quote").all_inner_texts()))


def test_answer_streams_with_markers_and_a_click_opens_the_quoted_passage(page, ui_app):
    ask(page, "What did CheckMate 743 show?")
    answer = last_answer(page)
    markers = answer.locator(".mc-text .mc-cite")
    assert markers.count() >= 1
    assert re.fullmatch(r"\[\d+\]", markers.first.inner_text())
    assert answer.locator(".mc-sources li").count() >= 1  # sources listed under the answer
    quote = open_marker(page, markers.first)
    assert len(quote) > 20
    panel = page.inner_text("#mc-source-panel")
    assert "Document" in panel and "Field" in panel and "Characters" in panel
    # the quote sits inside its document text, with context around it
    assert len(norm(page.inner_text("#mc-source-panel .mc-context"))) > len(quote)
    # the quoted evidence is what the answer says (extractive answers quote sentences verbatim)
    answer_text = norm(answer.locator(".mc-text").inner_text())
    assert norm(quote)[:40] in answer_text or quote.split()[0] in answer_text
    # the copy box holds the plain answer with its numbered sources
    page.get_by_text("Copy the answer with its references").click()
    copy = page.locator("#mc-copy textarea").input_value(timeout=30_000)
    assert "Sources:" in copy and re.search(r"^\[1\] ", copy, re.MULTILINE)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    # offline: everything the page loaded came from the app itself
    foreign = [u for u in page.requests if not u.startswith(ui_app["url"]) and not u.startswith("data:")]
    assert foreign == []


def test_source_list_entries_open_the_panel_too(page):
    ask(page, "What is pegargiminase?")
    entry = last_answer(page).locator(".mc-sources .mc-cite").last
    assert open_marker(page, entry)


def test_xss_in_a_document_renders_as_text(page, ui_app):
    ask(page, "What was the zebrafish QZX-17 note about?")
    answer = last_answer(page)
    markers = answer.locator(".mc-sources li", has_text="Zebrafish")
    assert markers.count() >= 1, answer.inner_text()
    open_marker(page, markers.first.locator(".mc-cite"))
    panel = page.inner_text("#mc-source-panel")
    assert "<script>window.__xss=1</script>" in panel
    assert '<img src=x onerror="window.__xss=1">' in panel
    assert 'Zebrafish <img src=x onerror="window.__xss=2"> note' in panel  # the title, as text
    page.wait_for_timeout(500)  # give an injected onerror the chance to fire
    assert page.evaluate("typeof window.__xss") == "undefined"
    for where in ("#mc-source-panel", "#mc-chatbot"):
        assert page.locator(f"{where} script").count() == 0
        assert page.locator(f"{where} img[src='x']").count() == 0


def test_xss_in_the_question_renders_as_text(page):
    question = 'Is <img src=x onerror="window.__xss=3"> or <script>window.__xss=3</script> about QZX-17?'
    ask(page, question)
    user = page.locator("#mc-chatbot .mc-question").last
    assert norm(user.inner_text()) == norm(question)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#mc-chatbot img[src='x'], #mc-chatbot script").count() == 0


def test_errors_reach_the_user_as_a_chat_message(page):
    ask(page, "x" * 2100)  # over the question limit: a MesochatError
    error = last_answer(page)
    assert "mc-error" in error.get_attribute("class")
    assert "limit is 2,000" in error.inner_text()
    assert "Traceback" not in page.inner_text("#mc-chatbot")


def test_settings_filter_and_clear_conversation(page):
    page.get_by_text("Settings", exact=True).click()
    for label in ("The review", "Your documents"):
        page.get_by_label(label, exact=True).uncheck()
    page.get_by_label("Trials", exact=True).check()
    ask(page, "What did CheckMate 743 show?")
    sources = last_answer(page).locator(".mc-sources li").all_inner_texts()
    assert sources and all("(trial record)" in s for s in sources), sources
    page.get_by_role("button", name="Clear conversation").click()
    page.wait_for_function("() => !document.querySelector('#mc-chatbot .mc-answer')", timeout=30_000)
    assert "Click a [n] marker" in page.inner_text("#mc-source-panel")


def test_explore_tab_row_asks_in_the_chat(page):
    page.get_by_role("tab", name="Explore").click()
    page.wait_for_selector("#mc-review", timeout=30_000)
    assert "Abstract" in page.inner_text("#mc-review")
    page.get_by_role("tab", name=re.compile(r"^References \(206\)")).click()
    refs = page.locator("#mc-table-ref")
    refs.get_by_text("Reference 1", exact=True).wait_for(state="attached", timeout=30_000)
    refs.get_by_text("text not captured", exact=True).first.wait_for(state="attached", timeout=30_000)
    page.get_by_role("tab", name=re.compile(r"^Trials \(\d+\)")).click()
    table = page.locator("#mc-table-trial")
    # the record id singles the row out (other trials' rows may mention CheckMate 743)
    page.fill("#mc-filter-trial textarea, #mc-filter-trial input", "trial:checkmate-743")
    # the data frame also keeps hidden copies of its cells (for measuring): wait for and click the visible one
    cell = table.get_by_text("CheckMate 743", exact=True).locator("visible=true").first
    cell.wait_for(timeout=30_000)
    cell.click()
    page.wait_for_function("() => document.querySelector('#mc-explore-prompt textarea, #mc-explore-prompt input')"
                           ".value === 'Tell me about CheckMate 743'", timeout=30_000)
    page.click("#mc-ask-about")
    wait_answers(page, 1)
    assert norm(page.locator("#mc-chatbot .mc-question").last.inner_text()) == "Tell me about CheckMate 743"
    assert last_answer(page).locator(".mc-cite").count() >= 1


def test_feedback_is_saved_to_the_data_dir(page, ui_app):
    path = ui_app["settings"].paths.feedback_file
    before = path.read_text().count("\n") if path.exists() else 0
    ask(page, "What is pegargiminase?")
    page.get_by_text("Feedback on the last answer").click()
    page.fill("#mc-feedback-comment textarea", "clear and cited")
    page.click("#mc-up")
    page.locator("#mc-feedback-note", has_text="saved").wait_for(timeout=30_000)
    lines = path.read_text().splitlines()
    assert len(lines) == before + 1
    entry = json.loads(lines[-1])
    assert entry["rating"] == "up" and entry["comment"] == "clear and cited"
    assert entry["question"] == "What is pegargiminase?" and entry["citations"] and entry["provenance"]

