"""Load on the browser app: N concurrent gradio_client clients each ask Q questions (default 20 x 10).

Starts its own `mesochat ui` on a free loopback port (unless --url points at a running one, which must be
loopback), drives the /chat endpoint exactly as the page does, and checks every reply is a cited answer or
an abstention whose quotes are in the index. Bounded in clients, questions and total time.

    .venv/bin/python -m benchmarks.load_ui [--home DIR] [--clients 20] [--questions 10] [--url URL]

Prints throughput, p50/p95/max latency and errors; exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.load_assistant import QUESTIONS, print_summary, summarize

VENV_BIN = Path(sys.executable).parent
EVERYTHING = ["review", "record", "user"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(home: Path | None, log_path: Path, timeout: float = 300) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MESOCHAT_CHROMA_URL",)}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    cmd = [str(VENV_BIN / "mesochat"), "ui", "--host", "127.0.0.1", "--port", str(port)]
    if home:
        cmd += ["--home", str(home)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mesochat ui exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"mesochat ui did not answer within {timeout:.0f} s")


def is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(message) -> str:
    value = message.get("content") if isinstance(message, dict) else message
    if isinstance(value, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in value)
    return str(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="data directory for the UI it starts (default $MESOCHAT_HOME)")
    ap.add_argument("--url", help="a running mesochat ui on loopback instead of starting one")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop starting new questions after this")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.questions <= 200:
        ap.error("--clients must be 1..64 and --questions 1..200")
    if args.url and not is_loopback_url(args.url):
        ap.error("--url must be a loopback address (this benchmark never loads other machines)")

    from gradio_client import Client

    proc = None
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"mesochat-load-ui-{os.getpid()}.log"
    if args.url:
        url = args.url.rstrip("/") + "/"
    else:
        t = time.perf_counter()
        proc, url = start_ui(args.home, log_path)
        print(f"started mesochat ui at {url} in {time.perf_counter() - t:.1f} s (log {log_path})")
    try:
        warm = Client(url, verbose=False, download_files=False)
        warm.predict(QUESTIONS[0], "extractive", 8, EVERYTHING, [], api_name="/chat")

        latencies: list[float] = []
        errors: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds

        def client_loop(n: int) -> None:
            try:
                client = Client(url, verbose=False, download_files=False)
            except Exception as err:  # noqa: BLE001  (reported, not raised)
                with lock:
                    errors[f"connect: {type(err).__name__}: {err}"[:160]] += args.questions
                return
            for i in range(args.questions):
                if time.monotonic() > deadline:
                    return
                q = QUESTIONS[(n * 5 + i) % len(QUESTIONS)]
                start = time.perf_counter()
                try:
                    chatbot, _box, _copy, details = client.predict(q, "extractive", 8, EVERYTHING, [],
                                                                  api_name="/chat")
                except Exception as err:  # noqa: BLE001
                    with lock:
                        errors[f"{type(err).__name__}: {err}"[:160]] += 1
                    continue
                elapsed = time.perf_counter() - start
                reply = _text(chatbot[-1]) if chatbot else ""
                ok_shape = isinstance(details, dict) and details.get("question") == q and (
                    details.get("abstained") or details.get("citations"))
                with lock:
                    if "mc-error" in reply or not ok_shape:
                        errors[f"bad reply: {reply[:120]}"] += 1
                        continue
                    latencies.append(elapsed)
                    kinds["abstained" if details["abstained"] else "cited"] += 1

        threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(args.clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        summary = summarize(f"load_ui ({args.clients} clients x {args.questions} questions)", latencies, errors,
                            wall, {"answers": dict(kinds)})
        print_summary(summary)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
