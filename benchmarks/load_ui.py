"""Load on the browser app: N concurrent gradio_client clients each ask Q questions (default 20 x 10).

Starts its own `mesochat ui` on a free loopback port (unless --url points at a running one, which must be
loopback), drives the /chat endpoint exactly as the page does, and checks every reply is a cited answer or
an abstention whose quotes are in the index. Bounded in clients, questions and total time.

    .venv/bin/python -m benchmarks.load_ui [--home DIR] [--clients 20] [--questions 10] [--url URL]

Phases: cold (every client's first question at once, right after the server answers; with --compare-lazy also
for a `--no-warm` server, the old lazy model load) and warm (clients x questions). For each it prints throughput,
p50/p95/max latency, the answer engine's own time (Answer.provenance timings) and the rest (Gradio queue and
transport), and how much of the slowest 10% the engine accounts for. Exit status 1 when any request failed.
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

from benchmarks.load_assistant import QUESTIONS, percentile, print_summary, summarize

VENV_BIN = Path(sys.executable).parent
EVERYTHING = ["review", "record", "user"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(home: Path | None, log_path: Path, timeout: float = 600, warm: bool = True) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MESOCHAT_CHROMA_URL",)}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    cmd = [str(VENV_BIN / "mesochat"), "ui", "--host", "127.0.0.1", "--port", str(port)]
    if home:
        cmd += ["--home", str(home)]
    if not warm:
        cmd.append("--no-warm")
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


def _engine_seconds(details: dict) -> float | None:
    """The answer engine's own time for a reply (Answer.provenance timings), the rest being queue and transport."""
    ms = ((details.get("provenance") or {}).get("timings") or {}).get("total_ms")
    return None if ms is None else ms / 1000


class Phase:
    """Latencies of one phase (cold or warm) with the engine's share of each request."""

    def __init__(self, name: str):
        self.name = name
        self.latencies: list[float] = []
        self.engine: list[float] = []
        self.errors: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.wall = 0.0

    def ask(self, client, q: str) -> None:
        start = time.perf_counter()
        try:
            chatbot, _box, _copy, details = client.predict(q, "extractive", 8, EVERYTHING, [], api_name="/chat")
        except Exception as err:  # noqa: BLE001  (reported, not raised)
            with self.lock:
                self.errors[f"{type(err).__name__}: {err}"[:160]] += 1
            return
        elapsed = time.perf_counter() - start
        reply = _text(chatbot[-1]) if chatbot else ""
        ok_shape = isinstance(details, dict) and details.get("question") == q and (
            details.get("abstained") or details.get("citations"))
        with self.lock:
            if "mc-error" in reply or not ok_shape:
                self.errors[f"bad reply: {reply[:120]}"] += 1
                return
            self.latencies.append(elapsed)
            engine = _engine_seconds(details)
            if engine is not None:
                self.engine.append(min(engine, elapsed))
            self.kinds["abstained" if details["abstained"] else "cited"] += 1

    def summary(self, label: str) -> dict:
        extra: dict = {"answers": dict(self.kinds)}
        if self.engine:
            overhead = [max(0.0, lat - eng) for lat, eng in zip(self.latencies, self.engine)]
            extra["engine_p50_s"] = round(percentile(self.engine, 50), 3)
            extra["engine_p95_s"] = round(percentile(self.engine, 95), 3)
            extra["queue_and_transport_p50_s"] = round(percentile(overhead, 50), 3)
            extra["queue_and_transport_p95_s"] = round(percentile(overhead, 95), 3)
            cut = percentile(self.latencies, 90)
            tail = [(lat, eng) for lat, eng in zip(self.latencies, self.engine) if lat >= cut]
            if tail:
                extra["slowest_10pct_engine_share"] = round(sum(e for _, e in tail) / sum(lat for lat, _ in tail), 2)
        return summarize(label, self.latencies, self.errors, self.wall, extra)


def run_phase(url: str, phase: Phase, clients: int, questions: int, deadline: float, offset: int = 0) -> None:
    """``clients`` concurrent gradio clients (one session each) asking ``questions`` questions one after another."""
    from gradio_client import Client

    def client_loop(n: int) -> None:
        try:
            client = Client(url, verbose=False, download_files=False)
        except Exception as err:  # noqa: BLE001  (reported, not raised)
            with phase.lock:
                phase.errors[f"connect: {type(err).__name__}: {err}"[:160]] += questions
            return
        for i in range(questions):
            if time.monotonic() > deadline:
                return
            phase.ask(client, QUESTIONS[(n * 5 + i + offset) % len(QUESTIONS)])

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    phase.wall = time.perf_counter() - t0


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by process ``pid`` (default: this benchmark, its client threads)."""
    if pid is None:
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(phase: Phase, server_pid: int | None, fn) -> dict:
    """Run ``fn`` and return the CPU seconds per answered request of the server and of the clients."""
    s0, c0 = (cpu_seconds(server_pid) if server_pid else 0.0), cpu_seconds()
    fn()
    n = max(1, len(phase.latencies))
    out = {"client_cpu_ms_per_request": round((cpu_seconds() - c0) / n * 1000, 1)}
    if server_pid:
        out["server_cpu_ms_per_request"] = round((cpu_seconds(server_pid) - s0) / n * 1000, 1)
    return out


def stop_ui(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="data directory for the UI it starts (default $MESOCHAT_HOME)")
    ap.add_argument("--url", help="a running mesochat ui on loopback instead of starting one (no cold phase)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop starting new questions after this")
    ap.add_argument("--compare-lazy", action="store_true",
                    help="also start a `mesochat ui --no-warm` first and report its cold phase (the old lazy load)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.questions <= 200:
        ap.error("--clients must be 1..64 and --questions 1..200")
    if args.url and not is_loopback_url(args.url):
        ap.error("--url must be a loopback address (this benchmark never loads other machines)")

    deadline = time.monotonic() + args.max_seconds
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"mesochat-load-ui-{os.getpid()}.log"
    figures: dict = {}
    errors = 0

    if args.compare_lazy and not args.url:  # baseline in the same run: the first requests after a lazy start
        t = time.perf_counter()
        proc, url = start_ui(args.home, log_path, warm=False)
        print(f"started mesochat ui --no-warm at {url} in {time.perf_counter() - t:.1f} s")
        try:
            lazy = Phase("cold-lazy")
            run_phase(url, lazy, args.clients, 1, deadline)
        finally:
            stop_ui(proc)
        figures["cold_lazy"] = lazy.summary(f"load_ui cold, lazy model load ({args.clients} clients x 1 question, "
                                            "right after start, --no-warm)")
        print_summary(figures["cold_lazy"])
        errors += sum(lazy.errors.values())

    proc = None
    if args.url:
        url = args.url.rstrip("/") + "/"
    else:
        t = time.perf_counter()
        proc, url = start_ui(args.home, log_path)
        print(f"started mesochat ui at {url} in {time.perf_counter() - t:.1f} s, warm-up included (log {log_path})")
    pid = proc.pid if proc is not None else None
    try:
        if proc is not None:  # cold: the first requests right after the server answers, all clients at once
            cold = Phase("cold")
            cpu = measured(cold, pid, lambda: run_phase(url, cold, args.clients, 1, deadline))
            figures["cold"] = cold.summary(f"load_ui cold ({args.clients} clients x 1 question, right after start)")
            figures["cold"].update(cpu)
            print_summary(figures["cold"])
            errors += sum(cold.errors.values())
        # baseline in the same run: one client alone, so latency has no queue in it
        alone = Phase("sequential")
        cpu = measured(alone, pid, lambda: run_phase(url, alone, 1, len(QUESTIONS), deadline, offset=2))
        figures["sequential"] = alone.summary(f"load_ui sequential (1 client x {len(QUESTIONS)} questions)")
        figures["sequential"].update(cpu)
        print_summary(figures["sequential"])
        errors += sum(alone.errors.values())
        warm = Phase("warm")
        cpu = measured(warm, pid, lambda: run_phase(url, warm, args.clients, args.questions, deadline, offset=1))
        figures["warm"] = warm.summary(f"load_ui warm ({args.clients} clients x {args.questions} questions)")
        figures["warm"].update(cpu)
        print_summary(figures["warm"])
        errors += sum(warm.errors.values())
        if figures["sequential"]["p50_s"]:
            print(f"warm p50 / sequential p50 = {figures['warm']['p50_s'] / figures['sequential']['p50_s']:.1f}")
        if "cold" in figures and figures["warm"]["p95_s"]:
            print(f"cold p95 / warm p95 = {figures['cold']['p95_s'] / figures['warm']['p95_s']:.2f}")
        if "cold_lazy" in figures and figures["warm"]["p95_s"]:
            print(f"lazy cold p95 / warm p95 = {figures['cold_lazy']['p95_s'] / figures['warm']['p95_s']:.2f}")
        print("FIGURES " + json.dumps({"load_ui": figures}))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        stop_ui(proc)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
