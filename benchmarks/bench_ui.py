"""Browser-app figures: start-up to first page, server memory after 20 questions, answer latency under
10 concurrent gradio_client users. Loopback only; every wait is bounded.

    .venv/bin/python -m benchmarks.bench_ui [--home DIR] [--users 10] [--per-user 3] [--json out.json]

The index must already be built in --home (default $MESOCHAT_HOME or ./data); if it is missing it is
built first, outside the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

QUESTIONS = [
    "What did CheckMate 743 show?",
    "What is pegargiminase?",
    "Why does ASS1 deficiency matter?",
    "Which mechanisms make mesothelioma resistant to immunotherapy?",
    "What is reference 36?",
    "What was the primary endpoint of BEAT-meso?",
    "How do CAR-T cells target mesothelin?",
    "What does the tumour microenvironment do to T cells?",
    "Which biomarkers predict benefit from immunotherapy?",
    "What is an immune checkpoint inhibitor?",
]
EVERYTHING = ["review", "record", "user"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ask(client, question: str) -> float:
    t = time.perf_counter()
    _, _, _, details = client.predict(question, "extractive", 8, EVERYTHING, [], api_name="/chat")
    if not isinstance(details, dict) or "answer" not in details:
        raise RuntimeError(f"no answer for {question!r}")
    return time.perf_counter() - t


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--per-user", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from gradio_client import Client

    import indexing  # noqa: F401
    from indexing import manifest as mf
    from kernel.config import Config

    settings = Config.load(home=args.home)
    if mf.read_manifest(settings.index_dir) is None:
        from indexing.build import build_index

        print(f"building the index in {settings.paths.home} first (not timed)", file=sys.stderr)
        build_index(settings, progress=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if k != "MESOCHAT_CHROMA_URL"}
    t0 = time.perf_counter()
    with open(settings.paths.home / "bench_ui.log", "wb") as log:  # the server keeps its own descriptor
        proc = subprocess.Popen([str(Path(sys.executable).parent / "mesochat"), "ui", "--home", str(settings.paths.home),
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    results: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"mesochat ui exited with {proc.returncode}; see {settings.paths.home / 'bench_ui.log'}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    page = resp.read()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("mesochat ui served no page within 300 s") from None
                time.sleep(0.1)
        results["startup_to_first_page_s"] = round(time.perf_counter() - t0, 2)
        results["first_page_bytes"] = len(page)
        results["rss_after_start_mb"] = round(rss_mb(proc.pid), 1)

        client = Client(url, verbose=False)
        sequential = [ask(client, QUESTIONS[i % len(QUESTIONS)]) for i in range(20)]
        results["rss_after_20_questions_mb"] = round(rss_mb(proc.pid), 1)
        results["sequential_answer_s"] = {"p50": round(statistics.median(sequential), 3),
                                          "p95": round(percentile(sequential, 0.95), 3),
                                          "first": round(sequential[0], 3)}

        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def user(i: int) -> None:
            try:
                c = Client(url, verbose=False)
                for j in range(args.per_user):
                    took = ask(c, QUESTIONS[(i + j) % len(QUESTIONS)])
                    with lock:
                        latencies.append(took)
            except Exception as exc:  # noqa: BLE001 - any failure is reported, none may hang the run
                with lock:
                    errors.append(f"user {i}: {exc}")

        t = time.perf_counter()
        threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(args.users)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=600)
        wall = time.perf_counter() - t
        results["concurrent"] = {
            "users": args.users, "answers": len(latencies), "errors": errors,
            "p50_s": round(statistics.median(latencies), 3) if latencies else None,
            "p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
            "max_s": round(max(latencies), 3) if latencies else None,
            "wall_s": round(wall, 2), "answers_per_s": round(len(latencies) / wall, 2),
        }
        results["rss_after_concurrent_mb"] = round(rss_mb(proc.pid), 1)
        results["cpu_count"] = os.cpu_count()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
