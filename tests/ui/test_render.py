"""Unit tests of the UI's pure parts: escaping, markers, the source panel, Explore tables, feedback, CLI helpers."""

from __future__ import annotations

import json
import re

import pytest

from assistant.answer.model import Answer, Citation
from kernel.errors import MesochatError
from ui import explore, render
from ui.app import where_filter
from ui.cli import is_loopback, parse_auth
from ui.feedback import record_feedback

PAYLOADS = ['<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=1">',
            '"><svg onload=alert(1)>', "<a href='javascript:alert(1)'>x</a>"]
DOC = "Intro sentence here. The zebrafish marker <script>window.__xss=1</script> was QZX-17. Tail text follows."


def _citation(n=1, start=21, end=None, text=None, title="Zebrafish <img src=x onerror=alert(1)>", **kw):
    end = DOC.index("QZX-17.") + 7 if end is None else end
    return Citation(n=n, source_id="user:abc#1", title=title, locator=f"{title} > Notes, chars {start}-{end}",
                    text=DOC[start:end] if text is None else text, score=0.9, doc_id="user:abc",
                    char_start=start, char_end=end, section="Notes", page=3, record_id=kw.get("record_id"),
                    source_type=kw.get("source_type", "user"), field=kw.get("field"), publication=kw.get("publication"))


def _no_live_markup(fragment: str) -> None:
    """No element or attribute an attacker could use survives: only our own tags remain."""
    tags = set(re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", fragment))
    assert tags <= {"div", "span", "ul", "li", "mark", "br", "table", "tr", "th", "td", "h3", "p", "details",
                    "summary"}, tags
    assert "onerror=" not in fragment.replace("onerror=&quot;", "").replace("onerror=alert", "")
    assert "<script" not in fragment and "<img" not in fragment and "<svg" not in fragment


@pytest.mark.parametrize("payload", PAYLOADS)
def test_question_and_answer_text_are_escaped(payload):
    user = render.user_html(f"what about {payload}?")
    _no_live_markup(user)
    assert render.esc(payload) in user
    answer = render.answer_html(f"Quoted {payload} here [1].", [_citation()], 0, question=payload,
                                rewritten=f"{payload} rewritten", flagged=[payload])
    _no_live_markup(answer)
    assert answer.count(render.esc(payload)) == 3  # text, rewritten note, flagged list


def test_markers_link_only_cited_numbers_and_carry_their_target():
    html = render.answer_html("First [1]. Second [2]. Not a source [7].", [_citation(1), _citation(2)], 4)
    assert re.findall(r"mc-cite-(\d+)-(\d+)", html) == [("4", "1"), ("4", "2"), ("4", "1"), ("4", "2")]
    assert "[7]" in html and "mc-cite-4-7" not in html
    assert "\n\n" not in html  # one HTML block: the chatbot's Markdown must not re-read the text
    pending = render.answer_html("Streaming [1]", [], None, pending=True)
    assert "mc-cite" not in pending and pending.endswith("…</div></div>")


def test_rewritten_question_shown_only_when_different():
    assert "mc-rewritten" not in render.answer_html("a [1]", [_citation()], 0, question="q", rewritten="q")
    assert "Searched as: what did it show" in render.answer_html("a", [], 0, question="q", rewritten="what did it show")


def test_source_panel_highlights_the_exact_span_escaped_inside_its_context():
    c = _citation()
    html = render.source_html([c], DOC, 1)
    _no_live_markup(html)
    marked = re.findall(r'<mark class="mc-quote">(.*?)</mark>', html)
    assert marked == [render.esc(c.text)]
    assert "Intro sentence here." in html and "Tail text follows." in html  # the context around it
    for label in ("Document", "Section", "Page", "Source type", "Characters"):
        assert f"<th>{label}</th>" in html
    # a record quote names its field and publication, and the record's curation notes, before the offsets
    rec = render.source_html([_citation(record_id="trial:x", source_type="record", field="overall survival",
                                        publication="Baas P, et al. Lancet 2021")], DOC, 3, notes="checked <b>")
    assert rec.index("<th>Field</th><td>overall survival</td>") < rec.index("<th>Characters</th>")
    assert "<th>Publication</th><td>Baas P, et al. Lancet 2021</td>" in rec
    assert "<th>Curation notes</th><td>checked &lt;b&gt;</td>" in rec
    ref = render.source_html([_citation(record_id="ref:36", source_type="record")], DOC, 2)
    assert "<th>Reference</th><td>36</td>" in ref and "<th>Record</th><td>ref:36</td>" in ref


def test_source_panel_never_highlights_text_that_moved():
    stale = _citation(text="a quote that is not at these offsets")
    html = render.source_html([stale], DOC, 1)
    assert "no longer in the index as it was" in html
    assert re.findall(r'<mark class="mc-quote">(.*?)</mark>', html) == ["a quote that is not at these offsets"]
    assert "no longer" in render.source_html([_citation()], None, 1)


def test_far_apart_quotes_get_separate_snippets():
    doc = "A" * 50 + " first quote. " + "filler " * 600 + "second quote. " + "z" * 10
    a, b = doc.index("first quote."), doc.index("second quote.")
    html = render.highlighted_context(doc, [(a, a + 12), (b, b + 13)], context=100)
    assert html.count('<p class="mc-snippet">') == 2
    assert len(html) < 1200  # not the 4,000 characters in between


def test_explore_tables_show_records_and_every_reference_honestly():
    import corpus

    review = corpus.load_review()
    refs = explore.references_table(review)
    assert len(refs.frame) == 206
    not_captured = refs.frame[refs.frame["Status"] == "text not captured"]
    assert len(not_captured) == sum(not r.captured for r in review.references) > 0
    assert (not_captured["Text"] == explore.NOT_CAPTURED).all()
    tables = {t.key: t for t in explore.records_tables(corpus.load_records())}
    assert set(tables) == {"trial", "agent", "biomarker", "mechanism", "term"}
    trials = tables["trial"].frame
    assert {"Name", "Phase", "Arms", "Outcomes", "Record"} <= set(trials.columns)
    row = trials[trials["Record"] == "trial:checkmate-743"].iloc[0]
    assert row["Phase"] and "ipilimumab" in row["Arms"].lower() and "HR" in row["Outcomes"]
    hits = tables["trial"].filtered("checkmate 743")  # other trials may mention it (a control arm, a comparison)
    assert "trial:checkmate-743" in set(hits["Record"])
    assert tables["trial"].filtered("no-such-word-xyz").empty
    assert explore.ask_prompt("CheckMate 743") == "Tell me about CheckMate 743"
    assert explore.ask_prompt("Reference 36") == "What is reference 36?"
    html = explore.review_html(review)
    assert "206 entries" in html and render.esc(review.abstract[:60]) in html


def test_feedback_is_appended_as_json_lines_without_secrets(tmp_path):
    answer = Answer(text="It did [1].", citations=[_citation()], abstained=False, rewritten_query=None,
                    question="Did it?", mode="llm", provenance={"llm": {"model": "m", "api_key": "sk-secret"}})
    path = tmp_path / "data" / "feedback.jsonl"
    record_feedback(path, answer, "up", "  clear answer ")
    record_feedback(path, answer, "down")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["rating"] for e in lines] == ["up", "down"]
    first = lines[0]
    assert first["question"] == "Did it?" and first["answer"] == "It did [1]." and first["comment"] == "clear answer"
    assert first["citations"][0]["doc_id"] == "user:abc" and first["timestamp"]
    assert "sk-secret" not in path.read_text()
    with pytest.raises(MesochatError):
        record_feedback(path, answer, "meh")


def test_settings_become_a_where_filter():
    everything = ["review", "record", "user"]
    assert where_filter(everything, []) is None
    assert where_filter(["review"], []) == {"source_type": {"$in": ["review"]}}
    assert where_filter(everything, ["trial"]) == {"record_type": {"$in": ["trial"]}}
    with pytest.raises(MesochatError, match="No sources"):
        where_filter([], [])
    with pytest.raises(MesochatError, match="Records"):
        where_filter(["review"], ["trial"])


def test_cli_auth_and_loopback_helpers():
    assert parse_auth("ann:s3cr:et") == ("ann", "s3cr:et")
    assert parse_auth(None) is None
    for bad in ("ann", "ann:", ":pw"):
        with pytest.raises(MesochatError, match="user:password"):
            parse_auth(bad)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
