"""The browser app: chat with cited answers, a source panel, and an Explore tab for the records.

Layout
- Chat tab: chatbot (answers stream in; every [n] is clickable), question box, example questions,
  settings (mode, top-k, which sources), copy box (answer + numbered sources), feedback; on the right
  the source panel showing the quoted span highlighted inside its document.
- Explore tab: the review's abstract, filterable tables of trials, agents, biomarkers, mechanisms,
  glossary terms and the 206 references; selecting a row and pressing "Ask about this" asks in the chat.

How a marker click reaches Python: answers are HTML whose markers carry the class ``mc-cite-<answer>-<n>``
(the chatbot's sanitizer keeps classes, not data attributes); ``CLICK_JS`` (run once on page load) listens for clicks on them, writes the value into a hidden
textbox and clicks a hidden button, whose event renders the source panel from the session state.

Per-session state is a plain dict (turns for follow-up rewriting, the answers, the chat messages).
The Assistant is shared by all sessions; it is thread-safe, and the queue runs up to
``CONCURRENCY`` answers at once.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answer.model import Answer
from kernel.errors import MesochatError
from ui import evidence_view, explore, render
from ui.feedback import record_feedback

log = logging.getLogger("mesochat.ui")

CONCURRENCY = 8
# At most one streamed update per STREAM_INTERVAL seconds: each update is a Gradio round (postprocess, diff, SSE
# message, client parse) that costs more than an extractive answer itself; an LLM's deltas still stream.
STREAM_INTERVAL = 0.1
EXAMPLES = [
    "What did CheckMate 743 show?",
    "Why does ASS1 deficiency matter for pegargiminase?",
    "Which mechanisms make mesothelioma resistant to immunotherapy?",
    "What is reference 36?",
]
SOURCE_CHOICES = [("The review", "review"), ("Records", "record"), ("Your documents", "user")]
RECORD_TYPE_CHOICES = [("Trials", "trial"), ("Agents", "agent"), ("Biomarkers", "biomarker"),
                       ("Mechanisms", "mechanism"), ("Glossary", "term"), ("References", "ref")]
UNEXPECTED = "Something went wrong while answering; the server log has the details. Please try again."

CLICK_JS = r"""
() => {
  if (window.__mesochatCites) return;
  window.__mesochatCites = true;
  const open = (el) => {
    const box = document.querySelector('#mc-cite-target textarea, #mc-cite-target input');
    const btn = document.querySelector('#mc-cite-open');
    if (!box || !btn) return;
    const m = /\bmc-cite-(\d+)-(\d+)\b/.exec(el.className || '');
    if (!m) return;
    box.value = m[1] + ':' + m[2];
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => btn.click(), 50);
  };
  const find = (e) => (e.target && e.target.closest) ? e.target.closest('.mc-cite') : null;
  document.addEventListener('click', (e) => {
    const el = find(e);
    if (el) { e.preventDefault(); e.stopPropagation(); open(el); }
  }, true);
  document.addEventListener('keydown', (e) => {
    const el = find(e);
    if (el && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); open(el); }
  }, true);
}
"""

CSS = """
.mc-cite { color: var(--color-accent); cursor: pointer; font-weight: 600; white-space: nowrap; }
.mc-cite:hover, .mc-cite:focus { text-decoration: underline; }
.mc-rewritten { font-size: 0.85em; opacity: 0.7; font-style: italic; margin-bottom: 0.3em; }
.mc-parts { border-collapse: collapse; margin: 0.3em 0; }
.mc-parts th, .mc-parts td { border: 1px solid var(--border-color-primary); padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
.mc-parts th[scope=row] { min-width: 9em; word-break: normal; overflow-wrap: normal; }
.mc-sources { margin-top: 0.6em; font-size: 0.88em; border-top: 1px solid var(--border-color-primary); }
.mc-sources-head { font-weight: 600; margin-top: 0.3em; }
.mc-sources ul { margin: 0.2em 0 0 0; padding-left: 1em; }
.mc-loc { opacity: 0.75; }
.mc-error { color: var(--error-text-color, #b91c1c); }
.mc-source h3 { margin: 0 0 0.4em 0; }
.mc-locator th { text-align: left; padding-right: 0.8em; font-weight: 600; vertical-align: top; }
.mc-locator td, .mc-locator th { font-size: 0.88em; border: none !important; padding: 2px 0.6em 2px 0; }
.mc-locator, .mc-locator tr { border: none !important; margin: 0; background: none !important; }
.mc-context { margin-top: 0.6em; line-height: 1.5; max-height: 32em; overflow-y: auto; }
.mc-quote { background: #fde68a; color: #111; padding: 0 2px; }
.mc-note, .mc-source-empty { opacity: 0.75; font-size: 0.9em; }
#mc-source-panel { min-height: 12em; }
"""


MAX_CHOICES = 3  # buttons under a clarifying question

def new_state() -> dict[str, Any]:
    # messages: what the chatbot shows; owner[i]: index of the answer behind message i (None otherwise)
    return {"turns": [], "answers": [], "messages": [], "owner": []}


def where_filter(sources: list[str] | None, record_types: list[str] | None) -> dict | None:
    """Chroma-style filter from the settings; None = everything."""
    sources = list(sources or [])
    record_types = list(record_types or [])
    if not sources:
        raise MesochatError("No sources are selected; tick at least one of the review, records or your documents "
                            "in Settings")
    where: dict[str, Any] = {}
    if set(sources) != {value for _, value in SOURCE_CHOICES}:
        where["source_type"] = {"$in": sources}
    if record_types:
        if "record" not in sources:
            raise MesochatError("A record type is selected but records are not; tick \"Records\" in Settings or "
                                "clear the record types")
        where["record_type"] = {"$in": record_types}
    return where or None


class ChatHandlers:
    """The event functions, bound to one Assistant and its settings."""

    def __init__(self, assistant: Any, settings: Any):
        self.assistant = assistant
        self.settings = settings

    def respond(self, question: str, state: dict | None, mode: str, k: float, sources: list[str],
                record_types: list[str]):
        """Stream an answer into the chat. Outputs: chatbot, state, question box, copy box, details."""
        state = state or new_state()
        question = question or ""
        if not question.strip():
            yield state["messages"], state, "", gr.skip(), gr.skip()
            return
        messages = [*state["messages"], {"role": "user", "content": render.user_html(question)}]
        owner = [*state["owner"], None]
        index = len(state["answers"])
        messages.append({"role": "assistant", "content": render.answer_html("", pending=True)})
        owner.append(None)
        yield messages, state, "", gr.skip(), gr.skip()
        answer, text = None, ""
        shown = time.monotonic()
        try:
            where = where_filter(sources, record_types)
            for piece in self.assistant.stream(question, k=int(k), mode=mode, where=where,
                                               history=list(state["turns"])):
                if isinstance(piece, Answer):
                    answer = piece
                    continue
                text += piece
                if time.monotonic() - shown < STREAM_INTERVAL:
                    continue  # pieces that come together are sent together (extractive answers: all at once)
                shown = time.monotonic()
                messages[-1] = {"role": "assistant", "content": render.answer_html(text, pending=True)}
                yield messages, state, "", gr.skip(), gr.skip()
            if answer is None:
                raise RuntimeError("the assistant's stream ended without an Answer")
        except MesochatError as err:
            messages[-1] = {"role": "assistant", "content": render.error_html(str(err))}
            state = {**state, "messages": messages, "owner": owner}
            yield messages, state, "", gr.skip(), gr.skip()
            return
        except Exception:  # never a traceback in the page: log it, tell the user
            log.exception("answering %r failed", question[:200])
            messages[-1] = {"role": "assistant", "content": render.error_html(UNEXPECTED)}
            state = {**state, "messages": messages, "owner": owner}
            yield messages, state, "", gr.skip(), gr.skip()
            return
        messages[-1] = {"role": "assistant", "content": render.answer_html(
            answer.text, answer.citations, index, question=answer.question, rewritten=answer.rewritten_query,
            abstained=answer.abstained, flagged=getattr(answer, "flagged", []), parts=answer.parts)}
        owner[-1] = index
        state = {"turns": [*state["turns"], self.assistant.make_turn(answer)],
                 "answers": [*state["answers"], answer], "messages": messages, "owner": owner}
        yield messages, state, "", answer.format(), answer.to_dict()

    def open_source(self, cite: str, state: dict | None) -> str:
        """Source panel HTML for a marker value "<answer>:<n>"."""
        answers = (state or {}).get("answers", [])
        m = re.fullmatch(r"\s*(\d+):(\d+)\s*", cite or "")
        if not m or int(m.group(1)) >= len(answers):
            return render.placeholder_html("That source is not part of this conversation; ask again.")
        answer, n = answers[int(m.group(1))], int(m.group(2))
        group = [c for c in answer.citations if c.n == n]
        if not group:
            return render.placeholder_html(f"The answer has no source [{n}].")
        try:
            doc_text = self.assistant.index.doc_text(group[0].doc_id)
        except MesochatError:
            doc_text = None
        chunk = self.assistant.index.chunks.get(group[0].source_id)
        notes = chunk.metadata.get("notes") if chunk is not None else None
        return render.source_html(group, doc_text, n, notes=notes)

    def answer_plot(self, state: dict | None):
        """The forest plot under a comparison or list answer that names trials with hazard ratios."""
        answers = (state or {}).get("answers", [])
        answer = answers[-1] if answers else None
        plan = getattr(answer, "plan", None) or {}
        trials = [p["record_id"] for p in getattr(answer, "parts", []) if p["record_id"].startswith("trial:")]
        if answer is None or plan.get("form") not in ("comparison", "list") or not trials:
            return gr.Plot(value=None, visible=False)
        endpoint = "pfs" if "pfs" in plan.get("attributes", []) else "os"
        figure = evidence_view.plot_for_records(trials, endpoint, records=getattr(self.assistant.analyzer, "records", None))
        return gr.Plot(value=figure, visible=figure is not None)

    def choice_buttons(self, state: dict | None) -> list[Any]:
        """The options of a clarifying question ("Do you mean A or B?") as buttons; hidden otherwise."""
        answers = (state or {}).get("answers", [])
        choices = list(getattr(answers[-1], "choices", []) if answers else [])[:MAX_CHOICES]
        return [gr.Button(value=c, visible=True) for c in choices] + \
            [gr.Button(visible=False) for _ in range(MAX_CHOICES - len(choices))]

    def chosen(self, choice: str, state: dict | None) -> str:
        """The question asked again, naming the record the user picked."""
        answers = (state or {}).get("answers", [])
        return f"{answers[-1].question} ({choice})" if answers else choice

    def clear(self):
        return [], new_state(), "", render.placeholder_html(), "", None

    def feedback(self, rating: str, comment: str, state: dict | None, answer_index: int | None = None):
        answers = (state or {}).get("answers", [])
        if not answers:
            return "Ask a question first; feedback is about an answer.", comment
        answer = answers[-1 if answer_index is None else answer_index]
        try:
            record_feedback(self.settings.paths.feedback_file, answer, rating, comment)
        except MesochatError as err:
            return f"Feedback not saved: {err}", comment
        return f"Thanks, your {'👍' if rating == 'up' else '👎'} for “{answer.question[:80]}” was saved.", ""

    def like(self, data: gr.LikeData, state: dict | None):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        owner = (state or {}).get("owner", [])
        if not isinstance(index, int) or index >= len(owner) or owner[index] is None or data.liked is None:
            return gr.skip()
        rating = "up" if data.liked is True or data.liked == "Like" else "down"
        return self.feedback(rating, "", state, owner[index])[0]


def build_app(assistant: Any, settings: Any = None) -> gr.Blocks:
    """The Gradio app for one Assistant. ``settings`` (kernel.config.Config) gives the feedback file."""
    if settings is None:
        settings = assistant.index.settings
    h = ChatHandlers(assistant, settings)
    review, records = _explore_data()

    with gr.Blocks(title="mesochat — mesothelioma immunotherapy review", analytics_enabled=False) as demo:
        state = gr.State(new_state())
        gr.Markdown("## mesochat\nAnswers quote the 2026 review *Immunotherapy resistance and strategies in "
                    "malignant pleural mesothelioma* and its records, with numbered sources. "
                    "Click a **[n]** to see the passage.")
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat", id="chat"), gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(elem_id="mc-chatbot", height=520, latex_delimiters=[],
                                         show_label=False, buttons=["copy"], group_consecutive_messages=False,
                                         placeholder="Ask about the review: trials, agents, biomarkers, "
                                                     "resistance mechanisms, references.")
                    chat_plot = gr.Plot(visible=False, show_label=False, elem_id="mc-chat-plot")
                    with gr.Row():
                        msg = gr.Textbox(elem_id="mc-question", show_label=False, scale=5, lines=1,
                                         max_lines=4, placeholder="Type a question and press Enter",
                                         autofocus=True)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="mc-ask")
                    with gr.Row():
                        choice_row = [gr.Button(visible=False, size="sm", variant="secondary",
                                                elem_id=f"mc-choice-{i}", elem_classes=["mc-choice"])
                                      for i in range(MAX_CHOICES)]
                    with gr.Row():
                        example_buttons = [gr.Button(q, size="sm", elem_classes=["mc-example"])
                                           for q in EXAMPLES]
                    with gr.Accordion("Settings", open=False):
                        mode = gr.Radio(["extractive", "llm"], value=assistant.mode, label="Answer mode",
                                        info="extractive quotes sentences; llm writes with a language model "
                                             "(needs one configured)")
                        k = gr.Slider(1, 20, value=getattr(assistant, "k", 8), step=1, label="Passages (top-k)")
                        sources = gr.CheckboxGroup(SOURCE_CHOICES, value=[v for _, v in SOURCE_CHOICES],
                                                   label="Search in")
                        record_types = gr.CheckboxGroup(RECORD_TYPE_CHOICES, value=[],
                                                        label="Only these record types (none = all)")
                    with gr.Row():
                        clear = gr.Button("Clear conversation", size="sm")
                    with gr.Accordion("Copy the answer with its references", open=False):
                        copy_box = gr.Textbox(elem_id="mc-copy", show_label=False, lines=6, interactive=False,
                                              buttons=["copy"])
                    with gr.Accordion("Feedback on the last answer", open=False):
                        comment = gr.Textbox(label="Comment (optional)", lines=2, max_length=2000,
                                             elem_id="mc-feedback-comment")
                        with gr.Row():
                            up = gr.Button("👍 Helpful", size="sm", elem_id="mc-up")
                            down = gr.Button("👎 Not helpful", size="sm", elem_id="mc-down")
                        feedback_note = gr.Markdown(elem_id="mc-feedback-note")
                    with gr.Accordion("Answer details (JSON)", open=False):
                        details = gr.JSON(show_label=False)
                with gr.Column(scale=2):
                    gr.Markdown("### Source")
                    panel = gr.HTML(render.placeholder_html(), elem_id="mc-source-panel")
                    cite_target = gr.Textbox(elem_id="mc-cite-target", visible="hidden")
                    cite_open = gr.Button("open", elem_id="mc-cite-open", visible="hidden")
            with gr.Tab("Explore", id="explore"):
                with gr.Row(equal_height=True):
                    prompt = gr.Textbox(label="Selected row (click a row in a table below)", scale=4,
                                        elem_id="mc-explore-prompt", interactive=False)
                    ask_about = gr.Button("Ask about this", variant="primary", scale=1, elem_id="mc-ask-about")
                with gr.Tabs():
                    with gr.Tab("Review abstract"):
                        gr.HTML(explore.review_html(review) if review else "", elem_id="mc-review")
                    for table in records:
                        with gr.Tab(f"{table.label} ({len(table.frame)})"):
                            box = gr.Textbox(label="Filter", placeholder="words that must appear in a row",
                                             elem_id=f"mc-filter-{table.key}")
                            frame = gr.Dataframe(table.frame, interactive=False, wrap=True, max_height=600,
                                                 elem_id=f"mc-table-{table.key}")
                            box.change(table.filtered, box, frame, api_visibility="undocumented", queue=False)
                            frame.select(_pick, None, prompt, api_visibility="undocumented", queue=False)
                    with gr.Tab("Evidence", id="evidence", elem_id="mc-evidence"):
                        evidence_view.build_evidence_view(prompt=prompt)

        ask_inputs = [msg, state, mode, k, sources, record_types]
        outputs = [chatbot, state, msg, copy_box, details]
        def then_plot(event):  # the plot and any choices follow the answer; the chat API's outputs stay as they are
            event.then(h.answer_plot, state, chat_plot, api_visibility="undocumented", queue=False)
            event.then(h.choice_buttons, state, choice_row, api_visibility="undocumented", queue=False)

        then_plot(msg.submit(h.respond, ask_inputs, outputs, api_name="chat"))
        then_plot(send.click(h.respond, ask_inputs, outputs, api_visibility="undocumented"))
        for button in choice_row:
            then_plot(button.click(h.chosen, [button, state], msg, api_visibility="undocumented", queue=False).then(
                h.respond, ask_inputs, outputs, api_visibility="undocumented"))
        for button, question in zip(example_buttons, EXAMPLES, strict=True):
            then_plot(button.click(lambda q=question: q, None, msg, api_visibility="undocumented", queue=False).then(
                h.respond, ask_inputs, outputs, api_visibility="undocumented"))
        then_plot(ask_about.click(lambda p: (p, gr.Tabs(selected="chat")), prompt, [msg, tabs],
                                  api_visibility="undocumented", queue=False).then(
            h.respond, ask_inputs, outputs, api_visibility="undocumented"))
        cite_open.click(h.open_source, [cite_target, state], panel, api_name="source")
        clear.click(h.clear, None, [chatbot, state, msg, panel, copy_box, details], api_visibility="undocumented",
                    queue=False).then(lambda: gr.Plot(value=None, visible=False), None, chat_plot,
                                      api_visibility="undocumented", queue=False)
        up.click(lambda c, s: h.feedback("up", c, s), [comment, state], [feedback_note, comment],
                 api_visibility="undocumented")
        down.click(lambda c, s: h.feedback("down", c, s), [comment, state], [feedback_note, comment],
                   api_visibility="undocumented")
        chatbot.like(h.like, state, feedback_note, api_visibility="undocumented")

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


def _pick(evt: gr.SelectData) -> str:
    row = evt.row_value or []
    return explore.ask_prompt(row[0]) if row else ""


def _explore_data() -> tuple[Any, list[explore.Table]]:
    """Review + record tables; the chat still works when the corpus cannot be parsed."""
    import corpus

    try:
        review = corpus.load_review()
    except MesochatError as err:
        log.warning("Explore tab without the review: %s", err)
        review = None
    try:
        tables = explore.records_tables(corpus.load_records())
    except MesochatError as err:
        log.warning("Explore tab without records: %s", err)
        tables = []
    if review is not None:
        tables.append(explore.references_table(review))
    return review, tables


def launch_options() -> dict[str, Any]:
    """launch() arguments every caller needs (Gradio 6 takes css/js/theme at launch)."""
    return {"css": CSS, "js": CLICK_JS, "theme": gr.themes.Default(), "ssr_mode": False, "share": False,
            "mcp_server": False, "enable_monitoring": False, "show_error": False, "pwa": False,
            "footer_links": ["api"]}


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860,
           auth: tuple[str, str] | None = None, blocked: list[str | Path] = (), **kw: Any):
    """Serve the app. No ``allowed_paths``: Gradio serves only its own assets and files it created."""
    options = {**launch_options(), **kw}
    return demo.launch(server_name=host, server_port=port, auth=auth,
                       blocked_paths=[str(p) for p in blocked] or None, **options)
