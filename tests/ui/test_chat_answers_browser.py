"""Comparison answers in the chat, in Debian's Chromium: a table with one cited row per trial and the
forest plot of those trials under it; a fact answer shows no plot."""

from __future__ import annotations

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TEST_OUTPUT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = TEST_OUTPUT / "ui-chat-comparison.png"


@pytest.fixture(scope="module")
def page(review_home):
    from playwright.sync_api import sync_playwright

    from assistant import api
    from ui.app import build_app, launch

    demo = build_app(api.Assistant.load(home=review_home))
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1500, "height": 1400}).new_page()
        pg.goto(f"http://127.0.0.1:{port}/")
        pg.wait_for_selector("#mc-question textarea", timeout=60_000)
        yield pg
        browser.close()
    demo.close()


def ask(page, question: str) -> None:
    box = page.locator("#mc-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.mc-answer:not(.mc-pending)').length > 0 && "
                           "!document.querySelector('.mc-pending')", timeout=60_000)


def test_comparison_is_a_cited_table_with_the_forest_plot_under_it(page) -> None:
    ask(page, "Compare CheckMate 743 and ATOMIC-Meso")
    table = page.locator(".mc-answer .mc-parts").last
    table.wait_for(timeout=30_000)
    rows = table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.innerText)")
    assert len(rows) == 2 and rows[0].startswith("CheckMate 743") and rows[1].startswith("ATOMIC-Meso")
    assert "[1]" in rows[0] and "[2]" in rows[1]
    page.wait_for_function("() => { const i = document.querySelector('#mc-chat-plot img');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_fact_answer_hides_the_plot(page) -> None:
    ask(page, "How many patients were randomised in DENIM?")
    page.wait_for_function("() => { const p = document.querySelector('#mc-chat-plot');"
                           " return !p || p.offsetParent === null || !p.querySelector('img'); }", timeout=30_000)


def test_an_ambiguous_description_asks_back_with_buttons_that_answer(page) -> None:
    ask(page, "how many patients were in the first-line trial that added a PD-L1 antibody to chemotherapy?")
    first = page.locator("#mc-choice-0")
    first.wait_for(state="visible", timeout=30_000)
    options = [page.locator(f"#mc-choice-{i}") for i in range(3)]
    names = [o.inner_text() for o in options if o.is_visible()]
    assert len(names) >= 2 and "Do you mean" in page.locator(".mc-answer").last.inner_text()
    before = page.locator(".mc-answer").count()
    first.click()
    page.wait_for_function(f"() => document.querySelectorAll('.mc-answer').length > {before} && "
                           "!document.querySelector('.mc-pending')", timeout=60_000)
    answer = page.locator(".mc-answer").last.inner_text()
    assert "[1]" in answer and names[0].split()[0] in answer  # the picked record's cited answer
