"""`mesochat ask` and `mesochat chat`: the assistant in a terminal (registered by mesochat/cli.py).

Bad input (an empty or over-long question, control characters, an unknown mode) raises MesochatError,
which the root app prints as one line; nothing here prints a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from kernel.errors import MesochatError

EXIT_WORDS = {"exit", "quit", ":q", "bye"}

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data directory (default $MESOCHAT_HOME or ./data).")]
ChromaOpt = Annotated[str | None, typer.Option("--chroma-url", help="Chroma server URL, e.g. http://127.0.0.1:8000.")]
ModeOpt = Annotated[str, typer.Option("--mode", help="extractive (quotes, no LLM) or llm.")]
KOpt = Annotated[int | None, typer.Option("--k", help="Passages to retrieve (1-50, default 8).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the answer as JSON (Answer.to_dict()).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--llm-base-url", help="OpenAI-compatible endpoint (llm mode).")]
ModelOpt = Annotated[str | None, typer.Option("--llm-model", help="Model name at the endpoint (llm mode).")]
KeyOpt = Annotated[str | None, typer.Option("--llm-api-key", help="API key (better: $MESOCHAT_LLM_API_KEY).")]
GgufOpt = Annotated[Path | None, typer.Option("--llm-gguf", help="Local GGUF model run by llama.cpp (llm mode).")]


def _load(home, chroma_url, mode, k, base_url, model, api_key, gguf):
    from assistant.api import Assistant, _check_k, _check_mode

    _check_mode(mode)
    if k is not None:
        _check_k(k)
    llm: dict[str, Any] = {"base_url": base_url, "model": model, "api_key": api_key,
                           "gguf": str(gguf) if gguf else None}
    return Assistant.load(home=home, chroma_url=chroma_url, mode=mode, k=k,
                          **{key: v for key, v in llm.items() if v is not None})


def print_answer(console: Console, answer) -> None:
    """The answer, then each numbered source with its locator and the quoted evidence."""
    console.print(Text(answer.text))
    if answer.rewritten_query and answer.rewritten_query != answer.question:
        console.print(Text(f"(understood as: {answer.rewritten_query})", style="dim"))
    if answer.citations:
        console.print(Text("\nSources", style="bold"))
        for n in sorted({c.n for c in answer.citations}):
            group = [c for c in answer.citations if c.n == n]
            console.print(Text(f"[{n}] {group[0].title}", style="bold"))
            for c in group:
                console.print(Text(f"    {c.locator}", style="cyan"))
                console.print(Text(f"    \u201c{' '.join(c.text.split())}\u201d", style="dim"))
    for flag in getattr(answer, "flagged", []) or []:
        console.print(Text(f"unverified: {flag}", style="yellow"))


def ask_command(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    json_out: JsonOpt = False,
    mode: ModeOpt = "extractive",
    k: KOpt = None,
    home: HomeOpt = None,
    chroma_url: ChromaOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_model: ModelOpt = None,
    llm_api_key: KeyOpt = None,
    llm_gguf: GgufOpt = None,
) -> None:
    """Answer one question from the indexed sources, with numbered citations."""
    from assistant.api import validate_question

    validate_question(question)  # before loading anything: bad input fails fast
    assistant = _load(home, chroma_url, mode, k, llm_base_url, llm_model, llm_api_key, llm_gguf)
    answer = assistant.ask(question)
    if json_out:
        sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False) + "\n")
    else:
        print_answer(Console(), answer)


def chat_command(
    json_out: JsonOpt = False,
    mode: ModeOpt = "extractive",
    k: KOpt = None,
    home: HomeOpt = None,
    chroma_url: ChromaOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_model: ModelOpt = None,
    llm_api_key: KeyOpt = None,
    llm_gguf: GgufOpt = None,
) -> None:
    """A conversation in the terminal: one question per line; follow-ups may say "it" or "what about X?".

    Reads standard input until end of file or "exit", so questions can also be piped in.
    """
    assistant = _load(home, chroma_url, mode, k, llm_base_url, llm_model, llm_api_key, llm_gguf)
    chat = assistant.chat()
    console = Console()
    interactive = sys.stdin.isatty()
    if interactive and not json_out:
        console.print(Text("Ask about the review; \"exit\" or Ctrl-D to leave.", style="dim"))
    while True:
        if interactive:
            console.print(Text("you> ", style="bold green"), end="")
        line = sys.stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if line.strip().lower() in EXIT_WORDS:
            break
        if not line.strip():
            continue
        try:
            answer = chat.ask(line)
        except MesochatError as err:  # one bad line must not end the conversation
            print(f"mesochat: error: {err}", file=sys.stderr, flush=True)
            continue
        if json_out:
            sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            print_answer(console, answer)
            console.print()
