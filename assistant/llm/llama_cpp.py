"""A GGUF model in-process as a llama-index LLM: a thin ``CustomLLM`` over ``llama_cpp.Llama``.

Not llama-index-llms-llama-cpp: that class formats chats with a fixed prompt template (wrong for most
GGUFs) and downloads a default model when no path is given; llama.cpp's own chat handler uses the
template stored in the GGUF file. Imported only when a GGUF is used (``assistant.llm.build_llm``).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from kernel.errors import MesochatError

_LLAMAS: dict[tuple[str, int], tuple[Any, threading.Lock]] = {}
_LLAMAS_LOCK = threading.Lock()


@atexit.register
def _close_llamas() -> None:
    """Free models before interpreter teardown; llama.cpp's own finaliser fails once its module is gone."""
    with _LLAMAS_LOCK:
        for llama, _lock in _LLAMAS.values():
            llama.close()
        _LLAMAS.clear()


def _load_llama(path: str, n_ctx: int) -> tuple[Any, threading.Lock]:
    """One llama.cpp model per (file, context) per process; calls into it are serialised by its lock."""
    key = (str(Path(path).expanduser().resolve()), n_ctx)
    with _LLAMAS_LOCK:
        if key not in _LLAMAS:
            from llama_cpp import Llama

            try:
                llama = Llama(model_path=key[0], n_ctx=n_ctx, seed=0, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise MesochatError(
                    f"llama.cpp could not load {path}: {' '.join(str(exc).split())[:160]}; "
                    "pass a valid GGUF file with --llm-gguf"
                ) from None
            _LLAMAS[key] = (llama, threading.Lock())
        return _LLAMAS[key]


class LlamaCppChat(CustomLLM):
    """A GGUF model in-process; chat goes through the chat template stored in the GGUF file."""

    model_path: str
    context_window: int = 2048
    max_tokens: int = 384
    temperature: float = 0.0
    _llama: Any = PrivateAttr()
    _lock: Any = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._llama, self._lock = _load_llama(self.model_path, self.context_window)

    @classmethod
    def class_name(cls) -> str:
        return "mesochat_llama_cpp"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=Path(self.model_path).name,
        )

    def _params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}

    @staticmethod
    def _messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        return [{"role": m.role.value, "content": m.content or ""} for m in messages]

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with self._lock:
            out = self._llama.create_chat_completion(messages=self._messages(messages), **self._params())
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw=out)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            with self._lock:
                for part in self._llama.create_chat_completion(
                    messages=self._messages(messages), stream=True, **self._params()
                ):
                    delta = part["choices"][0].get("delta", {}).get("content") or ""
                    text += delta
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=delta,
                        raw=part,
                    )

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with self._lock:
            out = self._llama.create_completion(prompt=prompt, **self._params())
        return CompletionResponse(text=out["choices"][0]["text"], raw=out)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            text = ""
            with self._lock:
                for part in self._llama.create_completion(prompt=prompt, stream=True, **self._params()):
                    delta = part["choices"][0]["text"]
                    text += delta
                    yield CompletionResponse(text=text, delta=delta, raw=part)

        return gen()
