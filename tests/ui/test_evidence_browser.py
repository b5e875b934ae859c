"""The Explore tab's Evidence view in Debian's Chromium (Playwright): plot, filters, table, record on click."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus import load_records
from corpus.evidence import evidence_rows, hazard_ratio_rows
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TEST_OUTPUT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = TEST_OUTPUT / "ui-evidence.png"


@pytest.fixture(scope="module")
def ui_url(review_home):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from assistant import api
    from ui.app import build_app, launch

    demo = build_app(api.Assistant.load(home=review_home))
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
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
def page(browser, ui_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = context.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.goto(ui_url)
    pg.wait_for_selector("#mc-question textarea", timeout=60_000)
    pg.get_by_role("tab", name="Explore").click()
    pg.get_by_role("tab", name="Evidence").click()
    yield pg
    context.close()


def plot_image(page):
    img = page.locator("#mc-evidence-plot img")
    img.wait_for(timeout=60_000)
    page.wait_for_function("() => { const i = document.querySelector('#mc-evidence-plot img');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
    return img


def table_text(page) -> str:
    return page.inner_text("#mc-evidence-table")


def text_table(page) -> tuple[list[list[str]], str]:
    """The view's text equivalent: (rows of the HTML table, Markdown to copy); opens its accordion."""
    if not page.locator("#mc-evidence-readable table").is_visible():
        page.get_by_text("The table as text").click()
    page.locator("#mc-evidence-readable table").wait_for(timeout=30_000)
    cells = page.locator("#mc-evidence-readable table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
    return cells, page.locator("#mc-evidence-text textarea").input_value()


def test_evidence_view_renders_the_plot_and_a_click_opens_the_trial_record(page, ui_url):
    rows = evidence_rows(endpoint="os")
    first_with_hr = hazard_ratio_rows(rows)[0]
    img = plot_image(page)
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size[0] > 1000 and size[1] > 300
    page.wait_for_function("t => document.querySelector('#mc-evidence-table').innerText.includes(t)",
                           arg=first_with_hr.trial, timeout=30_000)
    assert first_with_hr.trial in table_text(page)
    summary = page.inner_text("#mc-evidence-summary")
    assert f"the {len(hazard_ratio_rows(rows))} with a hazard ratio" in summary

    record = next(r for r in load_records() if r.id == first_with_hr.record_id)
    page.locator("#mc-evidence-table").get_by_text(first_with_hr.trial, exact=True).first.click()
    panel = page.locator("#mc-evidence-record .mc-record")
    panel.wait_for(timeout=30_000)
    assert panel.get_attribute("data-record") == record.id
    panel_text = page.inner_text("#mc-evidence-record")
    assert record.name in panel_text and "Sources of the record" in panel_text
    links = page.locator("#mc-evidence-record .mc-record-sources li")
    assert links.count() == len(record.sources)
    page.wait_for_function("p => document.querySelector('#mc-explore-prompt textarea, #mc-explore-prompt input')"
                           ".value === p", arg=f"Tell me about {record.name}", timeout=30_000)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    cells, markdown = text_table(page)  # the text equivalent lists every row, with the plot's figures
    assert [c[1] for c in cells] == [r.trial for r in rows]
    assert [c[6] for c in cells] == [r.hr_text or "–" for r in rows]
    assert markdown.count("\n") == 2 + len(rows)
    foreign = [u for u in page.requests if not u.startswith(ui_url) and not u.startswith("data:")]
    assert foreign == []


def test_filters_change_the_plot_and_the_table(page):
    before = plot_image(page).get_attribute("src")
    pfs = evidence_rows(endpoint="pfs")
    page.locator("#mc-evidence-endpoint input").click()
    page.get_by_role("option", name="Progression-free survival (PFS)", exact=True).click()
    page.wait_for_function("b => { const i = document.querySelector('#mc-evidence-plot img');"
                           " return i && i.getAttribute('src') !== b; }", arg=before, timeout=60_000)
    page.wait_for_function("t => document.querySelector('#mc-evidence-table').innerText.includes(t)",
                           arg=pfs[0].trial, timeout=30_000)
    cells, markdown = text_table(page)
    assert [(c[1], c[3]) for c in cells] == [(r.trial, "PFS") for r in pfs]
    assert markdown.count("\n") == 2 + len(pfs)  # header, rule, one line per row
