"""Huge inputs: peak memory and time of `mesochat index --add` on a 10 MB text file and a 1,000-page PDF.

Each file is generated here (deterministic prose; a minimal hand-written PDF, one text stream per page),
then indexed by the real CLI in a subprocess over a fresh data directory (embedded Chroma, real MiniLM,
no embedding cache).

    .venv/bin/python -m benchmarks.huge_inputs [--text-mb 10] [--pdf-pages 1000] [--only text|pdf|chunk]

``--only chunk`` measures loading + chunking the text file without embedding (what the test asserts). Peak RSS is the child's own VmHWM.
tests/test_huge_inputs.py imports the generators from here.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

_TEXT = (
    "tumour immune checkpoint blockade nivolumab ipilimumab pembrolizumab mesothelin BAP1 CDKN2A macrophage "
    "regulatory lymphocyte interferon signalling hypoxia ferroptosis resistance pleural epithelioid sarcomatoid "
    "cohort randomised survival progression response biomarker expression stroma fibroblast vaccine antigen "
    "dendritic chemokine cytokine infiltration exhaustion LAG-3 TIM-3 VISTA PD-L1 CTLA-4 arginine ASS1 "
    "pemetrexed cisplatin bevacizumab radiotherapy surgery pleurectomy decortication trial phase patients"
)
_WORDS = _TEXT.split()


def write_text(path: Path, megabytes: float, seed: int = 0) -> Path:
    """Deterministic English-like prose: sentences of 8-30 words, paragraphs of 3-8 sentences."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    size = 0
    with open(path, "w", encoding="utf-8") as fh:
        n = 0
        while size < target:
            sentences = []
            for _ in range(rng.randint(3, 8)):
                n += 1
                words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 30))]
                words[0] = words[0].capitalize()
                sentences.append(f"{' '.join(words)} in cohort {n} (HR 0.{rng.randint(40, 99)}, et al. 2024).")
            para = " ".join(sentences) + "\n\n"
            fh.write(para)
            size += len(para.encode("utf-8"))
    return path


def write_pdf(path: Path, pages: int, words_per_page: int = 40, seed: int = 0) -> Path:
    """A minimal valid PDF 1.4: one Helvetica font, one content stream per page, an exact xref table."""
    rng = random.Random(seed)
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for p in range(1, pages + 1):
        lines, line = [], []
        for i in range(words_per_page):
            line.append(rng.choice(_WORDS))
            if len(line) == 10 or i == words_per_page - 1:
                lines.append(" ".join(line))
                line = []
        lines[0] = f"Page {p} reports cohort {p}: " + lines[0]
        lines[-1] += "."
        text = b" T* ".join(b"(" + ln.encode("latin-1") + b") Tj" for ln in lines)
        stream = b"BT /F1 11 Tf 14 TL 72 720 Td " + text + b" ET"
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_obj, content, font)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    path.write_bytes(bytes(out))
    return path


CHUNK_ONLY = r"""
import resource, sys, time
import indexing
from indexing.chunker import chunk_document
from indexing.loaders import load_path
t = time.perf_counter()
doc = load_path(sys.argv[1])
chunks = chunk_document(doc)
assert all(doc.text[c.char_start:c.char_end] == c.text for c in chunks[:: max(1, len(chunks) // 500)])
print(f"chars={len(doc.text)} chunks={len(chunks)} seconds={time.perf_counter() - t:.1f}", flush=True)
"""


def _vm_hwm_kb(pid: int) -> int:
    """The process's own peak RSS (VmHWM, reset by exec unlike ru_maxrss); 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> dict:
    """Run a child to completion: wall time, exit status, output and its own peak RSS in MB.

    Peak RSS is the child's VmHWM, polled every 0.1 s until it exits. (ru_maxrss from wait4 is not usable:
    Linux carries it across fork+exec, so a child of a big parent reports the parent's size.)"""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        deadline = time.monotonic() + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, _usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        return {"returncode": proc.returncode, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                "stdout": out.read(), "stderr": err.read()}


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MESOCHAT_HOME", "MESOCHAT_CHROMA_URL", "MESOCHAT_EMBED_CACHE")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def index_add(home: Path, path: Path, env: dict[str, str] | None = None, timeout: float = 3600) -> dict:
    return run_measured([str(VENV_BIN / "mesochat"), "index", "--home", str(home), "--add", str(path)],
                        env=env or child_env(), timeout=timeout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text-mb", type=float, default=10.0)
    ap.add_argument("--pdf-pages", type=int, default=1000)
    ap.add_argument("--only", choices=["text", "pdf", "chunk"])
    args = ap.parse_args()
    if not 0 < args.text_mb <= 200 or not 0 < args.pdf_pages <= 20000:
        ap.error("--text-mb must be in (0, 200] and --pdf-pages in 1..20000")
    with tempfile.TemporaryDirectory(prefix="mesochat-huge-") as tmp:
        root = Path(tmp)
        rows = []
        if args.only in (None, "chunk", "text"):
            text = write_text(root / "huge.txt", args.text_mb)
            mb = text.stat().st_size / 1e6
        if args.only in (None, "chunk"):
            r = run_measured([sys.executable, "-c", CHUNK_ONLY, str(text)], env=child_env())
            rows.append((f"load + chunk {mb:.1f} MB text", r, r["stdout"].strip()))
        if args.only in (None, "text"):
            r = index_add(root / "home-text", text)
            rows.append((f"index --add {mb:.1f} MB text", r, r["stdout"].strip().splitlines()[-1:]))
        if args.only in (None, "pdf"):
            pdf = write_pdf(root / "huge.pdf", args.pdf_pages)
            r = index_add(root / "home-pdf", pdf)
            rows.append((f"index --add {args.pdf_pages}-page PDF ({pdf.stat().st_size / 1e6:.1f} MB)", r,
                         r["stdout"].strip().splitlines()[-1:]))
        print(f"{'input':42} {'exit':>4} {'seconds':>8} {'peak RSS MB':>12}  summary")
        for name, r, summary in rows:
            print(f"{name:42} {r['returncode']:>4} {r['seconds']:>8} {r['peak_rss_mb']:>12}  {summary}")
            if r["returncode"]:
                print(r["stderr"][-2000:])


if __name__ == "__main__":
    main()
