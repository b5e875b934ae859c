"""`mesochat ui`: build the index when there is none, then serve the browser app (what `make run` starts)."""

from __future__ import annotations

import ipaddress
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from kernel.errors import MesochatError

LOOPBACK_NAMES = {"localhost"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise MesochatError("--auth must look like user:password (both parts non-empty)")
    return user, password


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ui_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 7860,
    auth: Annotated[str | None, typer.Option("--auth", help="Require a login, as user:password.")] = None,
    home: Annotated[Path | None, typer.Option("--home", help="Data directory (default $MESOCHAT_HOME or ./data).")]
    = None,
    chroma_url: Annotated[str | None, typer.Option("--chroma-url", help="Chroma server, e.g. http://127.0.0.1:8000.")]
    = None,
    mode: Annotated[str, typer.Option("--mode", help="Default answer mode: extractive or llm.")] = "extractive",
    llm_base_url: Annotated[str | None, typer.Option("--llm-base-url", help="OpenAI-compatible endpoint (llm mode).")]
    = None,
    llm_model: Annotated[str | None, typer.Option("--llm-model", help="Model name at the endpoint (llm mode).")]
    = None,
    llm_gguf: Annotated[Path | None, typer.Option("--llm-gguf", help="Local GGUF model run by llama.cpp (llm mode).")]
    = None,
    warm: Annotated[bool, typer.Option("--warm/--no-warm", help="Load the embedding model and answer one question "
                                       "before serving (default), so no user waits for it.")] = True,
) -> None:
    """Chat with the review in the browser (API keys for llm mode: $MESOCHAT_LLM_API_KEY)."""
    from assistant.api import MODES

    if not is_loopback(host) and auth is None:
        print(f"mesochat: warning: serving on {host} without --auth; anyone who can reach this machine can use "
              "the app. Add --auth user:password or use --host 127.0.0.1.", file=sys.stderr)
    credentials = parse_auth(auth)
    if mode not in MODES:
        raise MesochatError(f"Unknown answer mode {mode!r}; use one of {', '.join(MODES)}")

    from indexing import manifest as mf
    from kernel.config import Config

    settings = Config.load(home=home, chroma_url=chroma_url)
    if mf.read_manifest(settings.index_dir) is None:
        from indexing.build import build_index

        print(f"mesochat: no index in {settings.paths.home}; building it (first run only, a few minutes)",
              file=sys.stderr, flush=True)
        report = build_index(settings, progress=True)
        print(report.summary(), file=sys.stderr, flush=True)

    from assistant.api import Assistant
    from ui.app import build_app, launch

    llm = {"base_url": llm_base_url, "model": llm_model, "gguf": str(llm_gguf) if llm_gguf else None}
    t0 = time.perf_counter()
    assistant = Assistant.load(config=settings, mode=mode, warm=warm,
                               **{key: v for key, v in llm.items() if v is not None})
    demo = build_app(assistant, assistant.config)
    ready = "embedding model loaded, one question answered" if warm else "model loads on the first question"
    print(f"mesochat: ready in {time.perf_counter() - t0:.1f} s ({ready}); serving on http://{host}:{port} "
          "(Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        launch(demo, host=host, port=port, auth=credentials, quiet=True)
    except OSError as exc:
        raise MesochatError(f"Cannot listen on {host}:{port} ({exc}); pick another --port") from exc
