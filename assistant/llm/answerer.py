"""The `llm` answer mode: a language model writes the answer from numbered sources, then every sentence is
checked against the passages it cites.

Backends, both through llama-index:
- any OpenAI-compatible endpoint (llama.cpp server, vLLM, Ollama, LM Studio, hosted APIs) via
  ``llama_index.llms.openai_like.OpenAILike``;
- a local GGUF file in-process via a thin llama-index ``CustomLLM`` over ``llama_cpp.Llama``
  (``assistant.llm.llama_cpp``). Not
  llama-index-llms-llama-cpp: that class formats chats with a fixed prompt template (wrong for most GGUFs)
  and downloads a default model when no path is given; llama.cpp's own chat handler uses the template
  stored in the GGUF file.

Failures are loud: an unreachable endpoint raises MesochatError at once (no retries) and never falls
back to the extractive mode silently.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import openai

from assistant.answer.markers import clean_markers, parse_markers, render_sentence, split_cited
from assistant.llm import prompts
from assistant.llm.support import Embed, support_detail
from kernel.config import LLMConfig
from kernel.errors import MesochatError

log = logging.getLogger("mesochat.llm")
# What a backend raises: openai-client errors for endpoints, ValueError/RuntimeError from llama.cpp.
_BACKEND_ERRORS = (openai.OpenAIError, ValueError, RuntimeError, OSError)

# ---------------------------------------------------------------------------------------------------------
# Results


class ParsedSentence(NamedTuple):
    text: str  # without markers
    markers: list[int]  # sources kept for this sentence (those that support it)
    support: float | None  # best support score; None for an abstention sentence
    supported: bool


class Flag(NamedTuple):
    text: str
    markers: list[int]  # as the model wrote them (valid ones)
    support: float | None
    reason: str  # "uncited" | "unsupported" | "numbers not in source: ..." | "negation differs from source"


@dataclass
class LLMResult:
    text: str  # the answer shown to users (markers [n] refer to the sources given, 1-based)
    cited: list[int]  # source numbers cited in `text`, in order of first appearance
    sentences: list[ParsedSentence]
    flagged: list[Flag]
    raw: str  # the model's output, untouched
    abstained: bool = False  # the model said the sources do not cover it, or nothing survived the checks
    removed_markers: list[int] = field(default_factory=list)  # markers pointing at sources not given
    model: str | None = None

    @property
    def n_supported(self) -> int:
        return sum(1 for s in self.sentences if s.supported and s.support is not None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sentences"] = [s._asdict() for s in self.sentences]
        data["flagged"] = [f._asdict() for f in self.flagged]
        return data


# ---------------------------------------------------------------------------------------------------------
# Backends


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _explain(exc: BaseException, config: LLMConfig) -> MesochatError:
    """One line saying what went wrong with the endpoint and what to do about it."""
    url = config.display_url
    secret = config.api_key.get_secret_value() if config.api_key else None
    if isinstance(exc, openai.APITimeoutError):
        return MesochatError(
            f"The LLM endpoint at {url} did not answer within {config.timeout:g}s; "
            "raise --llm-timeout or use a smaller model"
        )
    if isinstance(exc, openai.APIConnectionError):
        reason = "connection failed"
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                reason = "connection refused"
                break
            if "name or service not known" in str(cause).lower() or "nodename" in str(cause).lower():
                reason = "host not found"
                break
            cause = cause.__cause__ or cause.__context__
        return MesochatError(
            f"Cannot reach the LLM endpoint at {url} ({reason}); start it or fix --llm-base-url"
        )
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return MesochatError(
            f"The LLM endpoint at {url} rejected the API key (HTTP {exc.status_code}); "
            "set MESOCHAT_LLM_API_KEY or --llm-api-key"
        )
    if isinstance(exc, openai.NotFoundError):
        return MesochatError(
            f"The LLM endpoint at {url} has no model {config.model!r} or no chat API (HTTP 404); "
            "check --llm-model and that --llm-base-url ends in /v1"
        )
    if isinstance(exc, openai.APIStatusError):
        detail = _redact(" ".join(str(exc.message).split()), secret)[:160]
        return MesochatError(
            f"The LLM endpoint at {url} returned HTTP {exc.status_code} ({detail}); "
            "retry with fewer sources (-k) or check the server log"
        )
    detail = _redact(" ".join(str(exc).split()), secret)[:160]
    where = url or config.gguf
    return MesochatError(
        f"The LLM at {where} failed: {type(exc).__name__}: {detail}; check the model and settings"
    )


def _endpoint_models(config: LLMConfig) -> list[str]:
    """GET {api_base}/models: confirms the endpoint is up and names its model(s)."""
    key = config.api_key.get_secret_value() if config.api_key else "not-needed"
    client = openai.OpenAI(
        base_url=config.api_base, api_key=key, timeout=min(config.timeout, 10.0), max_retries=0
    )
    try:
        return [m.id for m in client.models.list().data]
    except openai.OpenAIError as exc:
        raise _explain(exc, config) from None
    finally:
        client.close()


def build_llm(config: LLMConfig, model: str | None = None):
    """The llama-index LLM for this configuration (config.check() must have passed)."""
    if config.base_url:
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            api_base=config.api_base,
            model=model or config.model or "default",
            api_key=config.api_key.get_secret_value() if config.api_key else "not-needed",
            is_chat_model=True,
            context_window=config.context_window,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            timeout=config.timeout,
            max_retries=0,
        )
    from assistant.llm.llama_cpp import LlamaCppChat  # llama.cpp loads only when a GGUF is used

    return LlamaCppChat(
        model_path=str(Path(config.gguf).expanduser()),
        context_window=config.context_window,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
    )


# ---------------------------------------------------------------------------------------------------------
# Answering


class LLMAnswerer:
    """Answer from numbered sources with an LLM; verify every sentence against what it cites.

    ``sources`` are retriever Hits (``.chunk.text``, ``.chunk.title`` ...), bare Chunks or strings; source n
    in the prompt and in the markers is ``sources[n - 1]``.
    """

    def __init__(self, config: LLMConfig | None = None, embed: Embed | None = None):
        self.config = config if config is not None else LLMConfig.from_options()
        self.config.check()
        self.embed = embed  # None: support.py's MiniLM (the indexing model)
        self._llm = None
        self._model_name: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LLMAnswerer({self.config!r})"

    # -- backend ---------------------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        self._ensure_llm()
        return self._model_name or "unknown"

    def _ensure_llm(self):
        with self._lock:
            if self._llm is None:
                model = self.config.model
                if self.config.base_url and not model:
                    models = _endpoint_models(self.config)
                    if len(models) > 1:
                        raise MesochatError(
                            f"The LLM endpoint at {self.config.display_url} serves several models "
                            f"({', '.join(models[:5])}); choose one with --llm-model"
                        )
                    model = models[0] if models else "default"
                self._llm = build_llm(self.config, model)
                self._model_name = model or Path(self.config.gguf or "").name
                log.debug("llm ready: %s model=%s", self.config.public_dict(), self._model_name)
            return self._llm

    def check(self) -> None:
        """Fail now, not at the first question: the endpoint answers /models, or the GGUF loads."""
        self._ensure_llm()
        if self.config.base_url and self.config.model:
            _endpoint_models(self.config)

    def _chat(self, messages) -> str:
        llm = self._ensure_llm()
        try:
            return llm.chat(messages).message.content or ""
        except MesochatError:
            raise
        except _BACKEND_ERRORS as exc:
            raise _explain(exc, self.config) from None

    def _stream_chat(self, messages) -> Iterator[str]:
        llm = self._ensure_llm()
        try:
            for part in llm.stream_chat(messages):
                if part.delta:
                    yield part.delta
        except MesochatError:
            raise
        except _BACKEND_ERRORS as exc:
            raise _explain(exc, self.config) from None

    # -- prompts ---------------------------------------------------------------------------------------

    def _source_budget(self) -> int:
        """Characters of passage text that fit next to the rules, question and answer (about 3 chars/token)."""
        return max(1200, (self.config.context_window - self.config.max_tokens - 450) * 3)

    def messages(self, question: str, sources: Sequence[Any], history: Iterable[Any] = ()):
        return prompts.answer_messages(question, sources, history, self._source_budget())

    # -- public API ------------------------------------------------------------------------------------

    def answer(self, question: str, sources: Sequence[Any], history: Iterable[Any] = ()) -> LLMResult:
        if not sources:
            return self._no_sources()
        return self.parse(self._chat(self.messages(question, sources, history)), sources)

    def stream(
        self, question: str, sources: Sequence[Any], history: Iterable[Any] = ()
    ) -> Iterator[str | LLMResult]:
        """Yields the model's text deltas as they arrive, then the checked LLMResult (whose text replaces them)."""
        if not sources:
            result = self._no_sources()
            yield result.text
            yield result
            return
        parts: list[str] = []
        for delta in self._stream_chat(self.messages(question, sources, history)):
            parts.append(delta)
            yield delta
        yield self.parse("".join(parts), sources)

    def rewrite(self, question: str, history: Iterable[Any]) -> str:
        """A standalone version of a follow-up question; the question itself when there is no history."""
        turns = list(history)
        if not prompts._turns(turns):
            return question
        return prompts.clean_rewrite(self._chat(prompts.rewrite_messages(question, turns)), question)

    def _no_sources(self) -> LLMResult:
        return LLMResult(
            text=prompts.ABSTAIN_TEXT, cited=[], sentences=[], flagged=[], raw="", abstained=True, model=None
        )

    # -- checking ----------------------------------------------------------------------------------------

    def parse(self, raw: str, sources: Sequence[Any]) -> LLMResult:
        """Turn model output into a checked answer: trusted markers only, each sentence verified."""
        passages = [prompts.source_text(s) for s in sources]
        cleaned, removed = clean_markers(raw, len(passages))
        cleaned = _strip_label(cleaned)
        threshold, drop = self.config.support_threshold, self.config.unsupported == "drop"
        sentences: list[ParsedSentence] = []
        flagged: list[Flag] = []
        rendered: list[str] = []
        claims = 0
        for text, markers in split_cited(cleaned):
            if prompts.ABSTAIN_RE.search(text):
                sentences.append(ParsedSentence(text, [], None, True))
                rendered.append(text)
                continue
            kept, support, reason = self._verify(text, markers, passages, threshold)
            ok = reason is None
            if not ok:
                flagged.append(Flag(text, markers, support, reason))
                if drop:
                    continue
            sentences.append(ParsedSentence(text, kept if ok else markers, support, ok))
            rendered.append(render_sentence(text, kept if ok else markers) + ("" if ok else " (unverified)"))
            claims += 1
        text = " ".join(rendered).strip()
        abstained = claims == 0
        if abstained and not text:
            text = prompts.ABSTAIN_TEXT
        if removed:
            log.info("removed markers pointing at sources not given: %s", removed)
        return LLMResult(
            text=text,
            cited=parse_markers(text),
            sentences=sentences,
            flagged=flagged,
            raw=raw,
            abstained=abstained,
            removed_markers=removed,
            model=self._model_name,
        )

    def _verify(self, text: str, markers: list[int], passages: list[str], threshold: float):
        """(markers that support the sentence, best score, None) or (_, score, reason it is not supported)."""
        if not markers:
            scores = [support_detail(text, p, self.embed).score for p in passages]
            return [], (max(scores) if scores else None), "uncited"
        details = {n: support_detail(text, passages[n - 1], self.embed) for n in markers}
        good = [n for n, d in details.items() if d.score >= threshold]
        if good:
            return good, max(details[n].score for n in good), None
        if len(markers) > 1:  # a sentence may join facts from two sources: check them read together
            joint = support_detail(text, [passages[n - 1] for n in markers], self.embed)
            if joint.score >= threshold:
                return markers, joint.score, None
            details[0] = joint
        best = max(details.values(), key=lambda d: d.score)
        if best.missing_numbers and all(d.missing_numbers for d in details.values()):
            return [], best.score, f"numbers not in source: {', '.join(best.missing_numbers)}"
        if best.negation_mismatch:
            return [], best.score, "negation differs from source"
        return [], best.score, "unsupported"


def _strip_label(text: str) -> str:
    """Drop a leading 'Answer:' label some models add."""
    return re.sub(r"^\s*(?:answer|response)\s*:\s*", "", text, flags=re.IGNORECASE)
