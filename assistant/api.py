"""The Python API: ``Assistant.load()`` -> ``.ask(question) -> Answer``, ``.chat()``, ``.stream()``.

One Assistant serves many threads: every call keeps its state in local variables; the shared parts
(index, retriever, query analyzer, term statistics) are read-only after load, and the sentence
embedding cache has its own lock.

Pipeline of one question:
  validate -> rewrite a follow-up (conversation) -> understand (assistant.understand.query) -> candidates:
  chunks of the records/references the question names, then hybrid retrieval -> answer:
  extractive (quote + cite, or abstain) or llm (assistant.llm.answerer writes, every sentence checked).
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answer import extractive as ex
from assistant.answer.combine import combine_answers
from assistant.answer.compose import compose_parts
from assistant.answer.model import ABSTAIN_TEXT, Answer, Citation, and_list
from assistant.answer.record_answer import RecordFacts
from assistant.answer.review_answer import ReviewFacts
from assistant.calibration import with_calibration
from assistant.retrieve.retrieval import named_records
from assistant.understand.attributes import BY_KEY
from assistant.understand.conversation import Turn, entities_in, rewrite_followup, turn_entities
from assistant.understand.dialogue import DialogueState
from assistant.understand.mixed import Named, side_by_side
from assistant.understand.pipeline import Understanding, vocabulary_texts
from assistant.understand.plan import (
    WHICH_TRIAL,
    PlanEntity,
    Planner,
    QuestionPlan,
    is_acronym,
    is_code_name,
    is_drug_name,
)
from assistant.understand.query import QueryAnalyzer, QueryPlan, compact
from assistant.understand.vocabulary import GENERIC_STEMS, spelling_variants
from kernel.errors import MesochatError
from kernel.text import stem

MODES = ("extractive", "llm")
DEFAULT_K = 8
MAX_QUESTION_CHARS = 2000
EVIDENCE_DEPTH = 2
MAX_NAMED_CHUNKS = 6
# Attributes that any record of a type can answer in general terms: a question that adds a word no source holds
# ("mesothelin-targeted antibody-drug conjugates") is not answered with the record's summary.
REVIEW_DOC = "review"
_ASKS_MEANING = re.compile(r"\bmean(?:s|t|ing)?\b|\bstands? for\b|\bdefin", re.IGNORECASE)
GENERIC_ATTRIBUTES = {"definition", "headline", "relevance", "population", "mechanism", "class", "summary"}
_LLM_KEYS = {"base_url", "model", "api_key", "gguf", "temperature", "max_tokens", "timeout", "context_window",
             "unsupported", "support_threshold"}


def validate_question(question: Any) -> str:
    """The question as one clean line, or a MesochatError saying what to fix."""
    if not isinstance(question, str):
        raise MesochatError(f"The question must be text, not {type(question).__name__}; pass a string")
    bad = next((ch for ch in question if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"), None)
    if bad is not None:
        raise MesochatError(
            f"The question contains a control character (U+{ord(bad):04X}); remove it and ask again"
        )
    text = " ".join(question.split())
    if not text:
        raise MesochatError("The question is empty; type a question about the review, e.g. "
                            "\"Which trials tested immunotherapy?\"")
    if len(text) > MAX_QUESTION_CHARS:
        raise MesochatError(f"The question is {len(text):,} characters long; the limit is "
                            f"{MAX_QUESTION_CHARS:,}, so shorten it")
    return text


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise MesochatError(f"Unknown answer mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def _check_k(k: Any) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
        raise MesochatError(f"k must be a whole number from 1 to 50 (got {k!r}); pass e.g. --k 8")
    return k


@dataclass
class _Prepared:
    question: str
    rewritten: str | None
    plan: QueryPlan
    intent: QuestionPlan
    candidates: list[ex.Candidate]
    timings: dict[str, float]
    missing_refs: list[int]
    retrieved: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # provenance details of the answering step
    understood: Any = None  # assistant.understand.pipeline.Understood


WARM_QUESTION = "How do tumours switch off attacking T cells?"  # free text: needs the query embedding


class Assistant:
    """Answers questions over one index. Create with :meth:`load`."""

    def __init__(self, index: Any, retriever: Any, analyzer: QueryAnalyzer, *, mode: str = "extractive",
                 k: int = DEFAULT_K, threshold: float | None = None,
                 llm_options: dict[str, Any] | None = None, config: Any = None):
        from kernel.config import Config

        self.index = index
        # The effective configuration (the index's shape read back); llm options given here win.
        base = config if config is not None else getattr(index, "settings", None)
        llm_flat = {f"llm_{key.removeprefix('llm_')}": value for key, value in (llm_options or {}).items()}
        base = base if isinstance(base, Config) else Config.load()
        # llm options given here: the llm section as the config file and environment say now, plus these.
        base = base.model_copy(update={"llm": Config.load(**llm_flat).llm}) if llm_flat else base
        # the abstention threshold nobody chose: the calibrated one (assistant/calibration.json)
        self.config = with_calibration(base)
        self.retriever = retriever
        self.analyzer = analyzer
        self.mode = _check_mode(mode)
        self.k = _check_k(k)
        self.answer_config = self.config.answer  # the extractive engine's knobs (config section "answer")
        self.threshold = float(self.answer_config.abstain_threshold if threshold is None else threshold)
        self._llm_options = dict(llm_options or {})
        self._llm = None
        self._llm_lock = threading.Lock()
        self.vectors = ex.SentenceVectors(index.embed_texts, precomputed=getattr(index, "unit_vectors", None))
        self.stats = ex.TermStats(c.text for c in index.chunks.values())
        doc_chunks: dict[str, list] = {}
        for chunk in index.chunks.values():
            doc_chunks.setdefault(chunk.doc_id, []).append(chunk)
        self._doc_chunks = {d: sorted(cs, key=lambda c: c.char_start) for d, cs in doc_chunks.items()}
        texts = {d: index.doc_text(d) for d in self._doc_chunks}
        self.facts = RecordFacts(getattr(analyzer, "records", []), texts.get, self.answer_config)
        self.review = ReviewFacts(self._doc_chunks.get(REVIEW_DOC, []), texts.get, REVIEW_DOC)
        self.planner = Planner(analyzer, " ".join(texts.values()))
        self.understanding = Understanding(analyzer, self.planner, [*texts.values(), *vocabulary_texts()],
                                           index.embed_query)
        if self.mode == "llm":
            self.llm  # fail at load, not at the first question  # noqa: B018

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def load(cls, home: Any = None, chroma_url: str | None = None, mode: str = "extractive",
             k: int | None = None, threshold: float | None = None, retrieval_config: Any = None,
             config: Any = None, warm: bool = False, **llm: Any) -> Assistant:
        """Open the index of ``config`` (a ``kernel.config.Config``, any collection; default ``Config.load()``:
        config file, $MESOCHAT_* environment) and get ready to answer. The other arguments override it.

        ``llm`` options (base_url, model, api_key, gguf, ... with or without an ``llm_`` prefix) go to
        the ``llm`` section of the config; they are only used in llm mode.

        ``warm=True`` loads the embedding model and answers one free-text question before returning, so no user
        waits for a lazy model load (the UI serves only after this).
        """
        import indexing  # noqa: F401  (offline environment before any model import)
        from assistant.retrieve.retrieval import Retriever
        from indexing.index import open_index
        from kernel.config import Config

        _check_mode(mode)
        unknown = sorted(k_ for k_ in llm if k_.removeprefix("llm_") not in _LLM_KEYS)
        if unknown:
            raise MesochatError(f"Unknown option(s) {', '.join(unknown)} for Assistant.load; LLM options are "
                                f"{', '.join(sorted(_LLM_KEYS))}")
        if k is not None:
            _check_k(k)
        llm_flat = {f"llm_{key.removeprefix('llm_')}": value for key, value in llm.items()}
        config = (config or Config.load()).replace(home=home, chroma_url=chroma_url, k=k, threshold=threshold,
                                                   **llm_flat)
        index = open_index(config)  # index.settings: config with the index's shape read back
        retriever = Retriever(index, retrieval_config)  # default: the config's retrieval section
        assistant = cls(index, retriever, QueryAnalyzer.from_corpus(index.settings.answer), mode=mode, k=config.answer.k,
                        threshold=config.answer.abstain_threshold, config=index.settings)
        if warm:  # model load, dense search, sentence vectors: every lazy step of a free-text answer, once
            assistant.ask(WARM_QUESTION, mode="extractive")
        return assistant

    @property
    def llm(self):
        """The LLMAnswerer (built on first use; MesochatError when not configured or unreachable)."""
        with self._llm_lock:
            if self._llm is None:
                from assistant.llm.answerer import LLMAnswerer

                answerer = LLMAnswerer(self.config.llm, embed=self.index.embed_texts)
                answerer.check()
                self._llm = answerer
            return self._llm

    def chat(self, mode: str | None = None, k: int | None = None, where: dict | None = None) -> Chat:
        return Chat(self, mode=mode, k=k, where=where)

    # -- answering ----------------------------------------------------------------------------------
    def ask(self, question: str, k: int | None = None, mode: str | None = None, where: dict | None = None,
            history: Sequence[Any] | None = None) -> Answer:
        answer = None
        for piece in self.stream(question, k=k, mode=mode, where=where, history=history):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def stream(self, question: str, k: int | None = None, mode: str | None = None, where: dict | None = None,
               history: Sequence[Any] | None = None) -> Iterator[str | Answer]:
        """Yield text pieces (a sentence at a time in extractive mode, model deltas in llm mode), then the Answer.

        Validation errors are raised on the first ``next()``.
        """
        mode = _check_mode(mode or self.mode)
        k = _check_k(self.k if k is None else k)
        turns = _with_entities(_as_turns(history), self.analyzer)
        start = time.perf_counter()
        asked = self.understanding.read(validate_question(question))
        if len(asked) > 1 and mode != "llm":  # several questions in one message: each answered on its own
            answers = [self._extractive(self._prepare(part, k, mode, where, turns, context), k, start, where)[0]
                       for part, context in asked]
            answer = combine_answers(question, answers)
            yield from _pieces(answer.text)
            yield answer
            return
        part, context = asked[0] if len(asked) == 1 else (question, "")
        prepared = self._prepare(part, k, mode, where, turns, context)
        prepared.question = question
        if mode == "llm":
            gate = self._gate(prepared, k, where)
            if gate is not None:  # another disease or an uncovered name: no model call
                route, text = gate
                prov = self._provenance(prepared, "llm", k, start, route=route)
                yield text
                yield Answer(text=text, citations=[], abstained=True, rewritten_query=prepared.rewritten,
                             question=prepared.question, mode="llm", provenance=prov, plan=prepared.intent.to_dict())
                return
            self._retrieve(prepared, k, mode, where)
            yield from self._stream_llm(prepared, k, turns, start)
            return
        answer, pieces = self._extractive(prepared, k, start, where)
        yield from pieces
        yield answer

    # -- steps ----------------------------------------------------------------------------------------
    def _prepare(self, question: str, k: int, mode: str, where: dict | None, turns: list[Turn],
                 context: str = "") -> _Prepared:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        question = validate_question(question)
        rewritten = question
        if turns:
            if mode == "llm":
                rewritten = validate_question(self.llm.rewrite(question, _llm_history(turns)))
            else:
                rewritten = rewrite_followup(question, turns, self.analyzer)
        plan = self.analyzer.analyze(rewritten)
        state = DialogueState.from_turns(turns)
        # The plan reads the question as asked: the planner carries entity and attribute from the dialogue state
        # itself, where the text rewrite (for retrieval) may glue two questions together.
        understood = self.understanding.understand(question if state.previous is not None else rewritten,
                                                   context=context, state=state)
        intent = understood.plan
        if not turns and intent.question != question:  # spelling fixed or a described record named: search that
            rewritten = intent.question
            plan = self.analyzer.analyze(rewritten)
        timings["understand_ms"] = _ms(t)
        missing_refs = [n for n in plan.ref_numbers if f"ref:{n}" not in self._doc_chunks]
        prepared = _Prepared(question, rewritten, plan, intent, [], timings, missing_refs)
        prepared.extra["understanding"] = understood.provenance(self.understanding.model)
        prepared.understood = understood
        return prepared

    def _retrieve(self, prepared: _Prepared, k: int, mode: str, where: dict | None) -> None:
        """Candidate chunks: those of the records/references the question names, then hybrid retrieval."""
        if prepared.retrieved:
            return
        plan = prepared.plan
        t = time.perf_counter()
        candidates = prepared.candidates
        seen: set[str] = set()

        def add(chunk, score: float, named: bool) -> None:
            if chunk.id not in seen and _matches(chunk, where):
                seen.add(chunk.id)
                candidates.append(ex.Candidate(chunk, float(score), len(candidates), named))

        named = [*(f"ref:{n}" for n in plan.ref_numbers), *plan.record_ids,
                 *(e.record_id for e in prepared.intent.entities if e.carried)]
        for rid in dict.fromkeys(named):
            for chunk in self._doc_chunks.get(rid, [])[:MAX_NAMED_CHUNKS]:
                add(chunk, 1.0, True)
        if ex.NAMES_REVIEW.search(plan.question):  # "the review": its own text is always a candidate
            for chunk in self._doc_chunks.get("review", []):
                add(chunk, 0.5, False)
        for rid in plan.related:  # "which trial tested this drug?": the records the named one links to
            for chunk in self._doc_chunks.get(rid, [])[:MAX_NAMED_CHUNKS]:
                add(chunk, 0.5, False)
        if ex.is_bibliographic(plan.question):  # the references a named record cites are named too
            for rid in plan.linked_refs:
                for chunk in self._doc_chunks.get(rid, [])[:1]:
                    add(chunk, 0.5, True)
        # Extractive answers re-rank sentences, so they look at twice k passages (the llm gets the first k).
        depth = k if mode == "llm" else EVIDENCE_DEPTH * k
        for hit in self.retriever.retrieve(plan.search_text, k=depth, mode="hybrid", where=where,
                                           named=named_records(plan, self.retriever.config)):
            add(hit.chunk, hit.score, False)
        prepared.timings["retrieve_ms"] = _ms(t)
        prepared.retrieved = True

    def _provenance(self, prepared: _Prepared, mode: str, k: int, start: float, **extra: Any) -> dict[str, Any]:
        plan = prepared.plan
        timings = dict(prepared.timings)
        timings["total_ms"] = _ms(start)
        prov = {
            "index": {
                "manifest_hash": self.index.manifest_hash,
                "collection": getattr(self.index.settings, "collection", None),
                "n_chunks": len(self.index.chunks),
                "embedding_model": self.index.manifest.get("model", self.index.manifest.get("embedding_model")),
            },
            "mode": mode,
            "parameters": {
                "k": k,
                "retrieval": "hybrid",
                "retrieval_config": _public(getattr(self.retriever, "config", None)),
            },
            "query": {
                "search_text": plan.search_text,
                "named_records": plan.record_ids,
                "reference_lookups": plan.ref_numbers,
                "expansions": plan.expansions,
            },
            "candidates": [c.chunk.id for c in prepared.candidates],
            "timings": timings,
        }
        prov.update(extra)
        return prov

    def _extractive(self, prepared: _Prepared, k: int, start: float, where: dict | None = None
                    ) -> tuple[Answer, list[str]]:
        t = time.perf_counter()
        route, text, citations, parts, abstained = self._answer_from_plan(prepared, k, where)
        if route == "passages":
            text, citations, abstained = self._answer_from_passages(prepared, k, where)
        pieces = list(prepared.extra.pop("pieces", ())) or _pieces(text)
        if missing := prepared.extra.get("uncovered_names"):  # a mixed question: say what is not covered
            lead = f"The indexed sources do not cover {and_list(missing)}."
            text, pieces = f"{lead}\n\n{text}", [f"{lead}\n\n", *pieces]
        prepared.timings["compose_ms"] = _ms(t)
        knobs = self.answer_config
        params = {"threshold": self.threshold, "passages": EVIDENCE_DEPTH * k, "threshold_note": ex.ABSTAIN_THRESHOLD_NOTE,
                  "max_sentences": knobs.max_sentences, "weights": {"cosine": knobs.cos_weight, "lexical": knobs.lex_weight,
                  "named": knobs.named_bonus, "bibliographic": knobs.biblio_bonus}}
        prov = self._provenance(prepared, "extractive", k, start, route=route, extractive=params,
                                **prepared.extra)
        answer = Answer(text=text, citations=citations, abstained=abstained, rewritten_query=prepared.rewritten,
                        question=prepared.question, mode="extractive", provenance=prov, plan=prepared.intent.to_dict(),
                        parts=parts, choices=list(prepared.extra.get("choices", [])))
        return answer, pieces

    def _answer_from_plan(self, prepared: _Prepared, k: int, where: dict | None
                          ) -> tuple[str, str, list[Citation], list[dict], bool]:
        """(route, text, citations, parts, abstained); route "passages" means: answer from retrieved prose."""
        intent = prepared.intent
        gate = self._gate(prepared, k, where)
        if gate is not None:
            return gate[0], gate[1], [], [], True
        described = getattr(prepared.understood, "described", None)
        if described is not None and described.winner is None and described.choices:
            names = [self.analyzer.name_of(r) for r in described.choices]
            prepared.extra["choices"] = names
            return "clarify", f"Do you mean {and_list(names, 'or')}?", [], [], True
        if self._about_review(intent, where):
            units = self.review.answer_units(intent.question, bool(intent.entities or intent.ref_numbers))
            if units:  # "who wrote the review?", "what does it conclude?": the review's own lines
                sentences, citations = ex.compose([ex.Evidence(c, s, e, t, 1.0, 1.0, 0.0, False) for c, s, e, t in units])
                prepared.extra["pieces"] = tuple(x + (" " if i < len(sentences) - 1 else "") for i, x in enumerate(sentences))
                return "review", " ".join(sentences), citations, [], False
            text, citations, abstained = self._answer_from_passages(prepared, k, where, review_only=True)
            if not abstained or not (intent.entities or ex.is_bibliographic(intent.question)):
                # else "what does the review say about DENIM?" -> its record; "...cite for X?" -> the reference list
                return "review", text, citations, [], abstained
            prepared.extra.pop("pieces", None)
        if self._record_route(intent):
            # (an unseen acronym beside a named record is more often a clinical abbreviation than a new topic)
            named_missing = set(prepared.extra.get("uncovered_names", ()))
            unseen = [f'"{n}"' for n in intent.unknown_names if not is_acronym(n) and n not in named_missing] \
                if set(intent.attributes) <= GENERIC_ATTRIBUTES else []
            if unseen:  # "the ORR of lurbinectedin": a drug or code name no source holds
                self._retrieve(prepared, k, "extractive", where)
                text = _with_topics(f"The indexed sources do not mention {and_list(unseen)}.", prepared.candidates)
                return "uncovered-word", text, [], [], True
            parts = self.facts.parts(intent)
            if where is not None:  # the user's source filters decide which records may answer
                parts = [p for p in parts if any(_matches(c, where) for c in self._doc_chunks.get(p.record_id, []))]
            answered = [p.record_id for p in parts]
            if parts and not intent.list_type and "trials" not in intent.attributes and \
                    set(answered) != set(intent.entity_ids):
                # "the intrapleural CAR-T trial" was answered from the trial's record: follow-ups mean that trial
                prepared.intent = intent = replace(intent, entities=[
                    PlanEntity(rid, self.analyzer.name_of(rid), rid.partition(":")[0], "", True) for rid in answered])
            if parts:
                composed = compose_parts(parts, self.index.doc_text, self._chunk_at, ex.readable_locator,
                                         headed=intent.form == "list")
                prepared.extra["pieces"] = composed.pieces
                return "record", composed.text, composed.citations, composed.parts, not composed.answered
        return "passages", "", [], [], False

    def _about_review(self, intent: QuestionPlan, where: dict | None) -> bool:
        """A question about the review itself (its authors, keywords, what it argues), not about a list of records."""
        chunks = self._doc_chunks.get(REVIEW_DOC, [])
        # "what does the review mean by X?" asks what X is: X's record defines it
        defines = intent.form == "definition" and bool(intent.entities) and bool(_ASKS_MEANING.search(intent.question))
        return bool(chunks) and not intent.list_type and not defines and any(_matches(c, where) for c in chunks) and \
            ReviewFacts.about_review(intent.question, bool(intent.entities or intent.ref_numbers))

    def _gate(self, prepared: _Prepared, k: int, where: dict | None) -> tuple[str, str] | None:
        """(route, abstention text) for a question about another disease or a name no source holds."""
        intent = prepared.intent
        listed = bool(intent.other_disease) and intent.list_type == "trial" and not intent.entities and all(
            compact(w) in self.planner.known for w in intent.other_disease.split())  # "trials enrolling peritoneal..."
        mixed = self._mixed(prepared, intent.other_disease or "")
        if intent.other_disease and not ("population" in intent.attributes and intent.entities) and not listed \
                and not mixed:
            text = (f"The indexed sources cover malignant pleural mesothelioma; they do not report on "
                    f"{intent.other_disease}.")
            route = "other-disease"
        elif intent.unknown_names and not intent.ref_numbers and not mixed and (
                not intent.entities or _named_as_trial(intent) or _new_product(intent)
                or not any(e.type in ("trial", "agent") for e in intent.entities)):
            text = f"The indexed sources do not cover {', '.join(intent.unknown_names)}."
            route = "uncovered-entity"
        else:
            return None
        self._retrieve(prepared, k, "extractive", where)
        return route, _with_topics(text, prepared.candidates)

    def _mixed(self, prepared: _Prepared, disease: str = "") -> bool:
        """"ORR in DREAM and in KEYNOTE-189?": a covered record and an uncovered name asked side by side: the
        covered part is answered and the uncovered names are said to be missing (see understand.mixed)."""
        intent = prepared.intent
        said = prepared.question.lower()  # a record the engine added ("... (MARS 2)") was not named beside it
        spoken = {m.record_id: m.surface for m in self.analyzer.find_records(prepared.question)}
        named = [Named(surface, e.type, True, e.record_id) for e in intent.entities
                 if (surface := e.surface or spoken.get(e.record_id, "")) and surface.lower() in said
                 and not e.carried and self.facts.covers(e.record_id)]
        named += [Named(n, "agent" if is_drug_name(n) else "either", False) for n in intent.unknown_names]
        asked = [a for a in intent.attributes if a != "headline"]
        intrinsic = bool(asked) and all(a == "definition" or (a in BY_KEY and "trial" not in BY_KEY[a].types)
                                        for a in asked)
        missing, qualifiers = side_by_side(intent.question, named, intrinsic)
        if disease:  # "...for mesothelioma, and when for NSCLC?": another disease asked in a clause of its own
            apart, _ = side_by_side(intent.question, [*named, Named(disease, "either", False)], True)
            low = intent.question.lower()
            first = min((low.find(n.surface.lower()) for n in named if n.covered), default=-1)
            if disease not in apart or not 0 <= first < low.find(disease.lower()):
                return False  # a disease named first scopes the question ("in melanoma, how long is X given?")
            missing = list(dict.fromkeys([disease, *missing, *intent.unknown_names]))
        if not missing:
            return False
        prepared.extra["uncovered_names"] = missing
        kept = [e for e in intent.entities if e.record_id not in qualifiers]
        form = "fact" if intent.form == "comparison" and len(kept) == 1 else intent.form
        prepared.intent = replace(intent, entities=kept, form=form)
        return True

    def _record_route(self, intent: QuestionPlan) -> bool:
        if re.match(r"^\s*(?:which|what) (?:reference|ref)\b", intent.question, re.IGNORECASE) and \
                "publication" not in intent.attributes:
            return False  # "which reference is the NICE appraisal...?": the reference list answers it
        if intent.list_type and not intent.entities:
            return True
        if not any(self.facts.covers(e.record_id) for e in intent.entities):
            return False
        if intent.attributes or intent.form in ("comparison", "list"):
            return True
        # nothing asked beyond the name ("What is X?", "X?") is an overview; anything else ("why did DENIM
        # fail?", "sensitivity of serum mesothelin?") is answered from prose about the entity, or abstains
        return intent.bare and intent.form != "why-how"

    def _answer_from_passages(self, prepared: _Prepared, k: int, where: dict | None, review_only: bool = False
                              ) -> tuple[str, list[Citation], bool]:
        self._retrieve(prepared, k, "extractive", where)
        plan, candidates, intent, knobs = prepared.plan, prepared.candidates, prepared.intent, self.answer_config
        if review_only:  # "according to the review, ...": every passage of the review is a candidate
            have = {c.chunk.id for c in candidates}
            candidates = candidates + [ex.Candidate(c, 0.5, len(candidates) + i, False) for i, c in
                                       enumerate(self._doc_chunks.get(REVIEW_DOC, [])) if c.id not in have]
        t = time.perf_counter()
        q_vec = self.index.embed_query(plan.embed_text)
        units = ex.gather_units(candidates, self.index.doc_text, self.answer_config)
        evidence, vecs = ex.score_units(plan, units, q_vec, self.vectors, self.stats, self.answer_config)
        prepared.timings["evidence_ms"] = _ms(t)
        lookups = {f"ref:{n}" for n in plan.ref_numbers}
        forced = [max((e for e in evidence if e.chunk.doc_id == rid), key=lambda e: e.score, default=None)
                  for rid in sorted(lookups)]
        asks_ref = bool(re.search(r"\b(?:which|what) (?:references?|refs?)\b", plan.question, re.IGNORECASE))
        if (ex.is_bibliographic(plan.question) or asks_ref) and plan.linked_refs and not lookups and not review_only:
            # "Which journal published BEAT-meso?": the reference entry BEAT-meso's record cites
            forced.append(max((e for e in evidence if e.chunk.doc_id in plan.linked_refs),
                              key=lambda e: e.score, default=None))
        forced = list(dict.fromkeys(e for e in forced if e is not None))
        pool = list(range(len(evidence)))
        if review_only:
            pool = [i for i in pool if evidence[i].chunk.doc_id == REVIEW_DOC]
            forced = []
        elif intent.entities:  # a question about DENIM is answered from DENIM's record or text naming DENIM
            keys = self._entity_keys(intent.entity_ids)
            pool = [i for i in pool if evidence[i].chunk.record_id in intent.entity_ids
                    or _names_any(evidence[i].text, keys)]
        if ex.is_bibliographic(plan.question) and not review_only:  # "which journal published X?": X's references
            refs = lookups | set(plan.linked_refs)
            pool = [i for i in pool if evidence[i].chunk.doc_id in refs] or pool
        if asks_ref and not review_only:
            # "which reference in the review reports DENIM?": an entry of the reference list answers it
            pool = [i for i in pool if evidence[i].chunk.record_type == "ref"] or pool
        # "How many patients...?" is answered only by a sentence that states such a count.
        pool = [i for i in pool if not ex.lacks_asked_count(plan.question, evidence[i].text)]
        best = max((evidence[i].score for i in pool), default=0.0)
        unseen = [] if forced or (intent.entities and not review_only) else self._unseen_terms(plan)
        prepared.extra.update(unseen=unseen)
        lexical_review = review_only and any(evidence[i].lexical >= knobs.review_lexical for i in pool)
        if unseen and best < self.threshold + knobs.unseen_margin and not lexical_review:
            # "tumour treating fields": the thing asked about appears in no indexed passage, and no passage
            # answers the rest of the question well (a clear answer outweighs an odd word: "blame")
            prepared.extra.update(evidence_score=round(best, 4))
            return _with_topics(f"{ABSTAIN_TEXT} No indexed passage mentions {and_list(unseen)}.", candidates), [], True
        # Passages of the asked entity all carry the named bonus; judged without it, a sentence that merely
        # belongs to DENIM does not count as an answer to "what proportion of DENIM patients were women?"
        bonus = self.answer_config.named_bonus if intent.entities and not review_only else 0.0
        plain = max((evidence[i].score - (bonus if evidence[i].named else 0.0) for i in pool), default=0.0)
        # a question put to the review is answered by the abstract sentence that shares its words, even when
        # worded unlike it ("what does the review blame for...?" / "largely attributed to")
        close = [i for i in pool if review_only and evidence[i].score >= self.threshold - knobs.review_slack and
                 (evidence[i].lexical >= knobs.review_lexical or (bool(intent.entities) and evidence[i].mentions))]
        # ("what does the review say about CAR-NK cells?": the abstract's sentence that names them)
        if plain < self.threshold and close:
            pool = close  # only the sentences that share the question's words
        picked = ex.select([evidence[i] for i in pool], vecs[pool], self.answer_config) \
            if plain >= self.threshold or close else []
        picked = forced + [e for e in picked if e not in forced][: max(0, self.answer_config.max_sentences - len(forced))]
        prepared.extra.update(evidence_score=round(best, 4), direct_lookup=bool(forced))
        if picked:
            sentences, citations = ex.compose(picked)
            prepared.extra["pieces"] = tuple(s_ + (" " if i < len(sentences) - 1 else "") for i, s_ in enumerate(sentences))
            return " ".join(sentences), citations, False
        text = ex.abstention_text(candidates)
        covered = [e for e in intent.entities if self.facts.covers(e.record_id)]
        if len(covered) == 1:  # "the median follow-up of ADAM?": say what ADAM's record does hold
            rec = self.facts.records[covered[0].record_id]
            text = (f"The indexed record of {rec.name} does not answer this question; it reports "
                    f"{and_list(self.facts.reports(rec)[:6])}.")
        if prepared.missing_refs:
            text = (f"{ABSTAIN_TEXT} The review's reference list has references 1-206; there is no "
                    f"reference {', '.join(map(str, prepared.missing_refs))}.")
        return text, [], True

    def _unseen_terms(self, plan: QueryPlan) -> list[str]:
        """Content nouns of the question that no indexed passage contains in any spelling (generic verbs of
        asking - propose, implicate, discuss - are not evidence of a missing topic and are skipped)."""
        out = []
        for concept in plan.concepts:
            if concept.stem in GENERIC_STEMS or len(concept.stem) < 5 or concept.stem.isdigit():
                continue
            word = next((w for w in re.findall(r"[A-Za-z-]+", plan.question) if stem([w.lower()])[0] == concept.stem),
                        concept.stem)
            spellings = {t for alt in concept.alternatives for t in alt} | spelling_variants(word)
            if any(self.stats.df(t) for t in spellings):
                continue
            out.append(f'"{word}"')
        return out

    def _entity_keys(self, record_ids: list[str]) -> list[str]:
        keys = []
        for rid in record_ids:
            entry = self.analyzer.entries.get(rid)
            if entry is not None:
                keys += [compact(a) for a in entry.aliases if len(compact(a)) >= self.answer_config.min_mention_key]
        return keys

    def _chunk_at(self, doc_id: str, start: int, end: int):
        """The chunk of ``doc_id`` that holds [start, end) (the one overlapping it most)."""
        chunks = self._doc_chunks[doc_id]
        return max(chunks, key=lambda c: min(end, c.char_end) - max(start, c.char_start))

    def _stream_llm(self, prepared: _Prepared, k: int, turns: list[Turn], start: float) -> Iterator[str | Answer]:
        from assistant.llm.answerer import LLMResult

        pool = prepared.candidates
        if prepared.intent.entities:  # the model only ever sees passages about the entity asked
            keys = self._entity_keys(prepared.intent.entity_ids)
            ids = set(prepared.intent.entity_ids)
            pool = [c for c in pool if c.chunk.record_id in ids or _names_any(c.chunk.text, keys)]
        sources = [c.chunk for c in pool[: max(k, 1)]]
        llm = self.llm
        t = time.perf_counter()
        result = None
        for piece in llm.stream(prepared.plan.question, sources, _llm_history(turns)):
            if isinstance(piece, LLMResult):
                result = piece
            else:
                yield piece
        assert result is not None
        prepared.timings["generate_ms"] = _ms(t)
        yield self._llm_answer(prepared, k, result, sources, start)

    def _llm_answer(self, prepared: _Prepared, k: int, result: Any, sources: list, start: float) -> Answer:
        scores = {c.chunk.id: c.retrieval_score for c in prepared.candidates}
        cited = [n for n in result.cited if 1 <= n <= len(sources)]
        renumber = {old: new for new, old in enumerate(cited, start=1)}
        citations = [ex.citation_for(renumber[n], sources[n - 1], sources[n - 1].char_start, sources[n - 1].char_end,
                                     sources[n - 1].text, scores.get(sources[n - 1].id, 0.0)) for n in cited]
        retrieved = [ex.citation_for(0, c, c.char_start, c.char_end, c.text, scores.get(c.id, 0.0))
                     for i, c in enumerate(sources, start=1) if i not in renumber]
        abstained = bool(result.abstained) or not citations
        if abstained:
            text, citations = ex.abstention_text(prepared.candidates), []
        else:
            text = re.sub(r"\[(\d{1,3})\]", lambda m: f"[{renumber.get(int(m.group(1)), m.group(1))}]", result.text)
        flagged = [f"{f.text} ({f.reason})" for f in result.flagged]
        prov = self._provenance(prepared, "llm", k, start, llm={**self.llm.config.public_dict(),
                                "model_name": result.model}, removed_markers=list(result.removed_markers))
        return Answer(text=text, citations=citations, abstained=abstained, rewritten_query=prepared.rewritten,
                      question=prepared.question, mode="llm", provenance=prov, retrieved=retrieved, flagged=flagged,
                      plan=prepared.intent.to_dict())

    # -- chat support -----------------------------------------------------------------------------------
    def make_turn(self, answer: Answer) -> Turn:
        rewritten = answer.rewritten_query or answer.question
        cited = [c.record_id for c in answer.citations if c.record_id]
        named, cited_entities = turn_entities(rewritten, cited, self.analyzer)
        plan = self.planner.plan(rewritten) if not answer.plan else _plan_from_dict(answer.plan, self.analyzer)
        parts = tuple(p["record_id"] for p in answer.parts) or tuple(dict.fromkeys(cited))
        if not answer.abstained and WHICH_TRIAL.search(answer.question) and not any(p.startswith("trial:") for p in parts):
            # "on the basis of which trial?" answered from the drug's record: the trial it names is the answer
            named_trials = [e.record_id for e in entities_in(answer.text, self.analyzer) if e.kind == "trial"]
            parts = tuple(dict.fromkeys(named_trials + list(parts)))
        return Turn(answer.question, rewritten, answer.text, named, cited_entities, plan, parts)


class Chat:
    """A conversation: remembers its turns so follow-ups can lean on them. One Chat per user."""

    def __init__(self, assistant: Assistant, mode: str | None = None, k: int | None = None,
                 where: dict | None = None):
        self.assistant = assistant
        self.mode = _check_mode(mode or assistant.mode)
        self.k = k
        self.where = where
        self.history: list[Turn] = []
        self._lock = threading.Lock()  # turns of one conversation happen in order

    def ask(self, question: str, **kw: Any) -> Answer:
        answer = None
        for piece in self.stream(question, **kw):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def stream(self, question: str, k: int | None = None, where: dict | None = None) -> Iterator[str | Answer]:
        with self._lock:
            for piece in self.assistant.stream(question, k=k or self.k, mode=self.mode,
                                               where=where or self.where, history=list(self.history)):
                if isinstance(piece, Answer):
                    self.history.append(self.assistant.make_turn(piece))
                yield piece

    def reset(self) -> None:
        with self._lock:
            self.history.clear()


def _as_turns(history: Sequence[Any] | None) -> list[Turn]:
    """Turns from a Chat, or (role, text) pairs / {"role", "content"} dicts as a UI keeps them."""
    if not history:
        return []
    turns: list[Turn] = []
    pending: str | None = None
    for item in history:
        if isinstance(item, Turn):
            turns.append(item)
            continue
        role, content = (item.get("role"), item.get("content")) if isinstance(item, dict) else item
        if role == "user":
            pending = str(content)
        elif role == "assistant" and pending is not None:
            turns.append(Turn(pending, pending, str(content)))
            pending = None
    return turns


def _with_entities(turns: list[Turn], analyzer: QueryAnalyzer) -> list[Turn]:
    return [t if t.entities or t.cited else replace(t, entities=turn_entities(t.rewritten, [], analyzer)[0])
            for t in turns]


def _llm_history(turns: list[Turn]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for t in turns:
        out += [("user", t.question), ("assistant", t.answer)]
    return out


def _matches(chunk: Any, where: dict | None) -> bool:
    from kernel.filters import matches as chunk_matches

    return chunk_matches(chunk, where)


def _public(config: Any) -> Any:
    if config is None:
        return None
    if hasattr(config, "model_dump"):
        return config.model_dump()
    if hasattr(config, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(config)
    return str(config)


def _plan_from_dict(d: dict[str, Any], analyzer: QueryAnalyzer) -> QuestionPlan:
    from assistant.understand.plan import PlanEntity

    ents = [PlanEntity(rid, analyzer.name_of(rid), rid.partition(":")[0], "") for rid in d.get("entities", [])]
    return QuestionPlan(question=d.get("question", ""), entities=ents, attributes=list(d.get("attributes", [])),
                        form=d.get("form", "fact"), timepoint=d.get("timepoint"), list_type=d.get("list_type"),
                        context=list(d.get("context", [])))  # the conversation's earlier records travel with it


def _pieces(text: str) -> list[str]:
    """Stream an answer a line (list item) or a sentence group at a time."""
    lines = text.split("\n")
    return [line + ("\n" if i < len(lines) - 1 else "") for i, line in enumerate(lines)]


def _with_topics(text: str, candidates: Sequence[ex.Candidate]) -> str:
    topics = ex.closest_topics(candidates)
    return f"{text} Closest topics they do cover: {'; '.join(topics)}." if topics else text


def _named_as_trial(intent: QuestionPlan) -> bool:
    """"the NIPU trial of UV1": an uncovered name used as the trial or study asked about."""
    return any(re.search(r"\b(?:trial|study)\b", n, re.IGNORECASE) or  # the name caught "STELLAR trial" whole
               re.search(rf"\b{re.escape(n)}\s+(?:trial|study|cohort|vaccine|vaccination|data|results)|"
                         rf"\b(?:trial|study)\s+{re.escape(n)}\b",
                         intent.question, re.IGNORECASE) for n in intent.unknown_names)


def _new_product(intent: QuestionPlan) -> bool:
    """"cediranib added to cisplatin-pemetrexed", "LMB-100 plus pembrolizumab", "pembrolizumab in KEYNOTE-028": an
    uncovered drug or code name is what is asked about, unless the question names a covered trial outright."""
    named_trial = any(e.type == "trial" and e.surface and not e.carried for e in intent.entities)
    return not named_trial and any(is_drug_name(n) or is_code_name(n) for n in intent.unknown_names)


def _names_any(text: str, keys: list[str]) -> bool:
    squeezed = compact(text)
    return any(k in squeezed for k in keys)


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)


__all__ = ["Answer", "Assistant", "Chat", "Citation", "validate_question"]
