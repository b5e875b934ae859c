"""Forest plots: the drawn marks are the records' figures (read back from the artists), offline PNG via the CLI."""

from __future__ import annotations

import re
import struct
import subprocess
from collections import Counter
from io import BytesIO

import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text

from corpus import load_records
from corpus.evidence import evidence_rows
from corpus.forest import X_ARMS, X_HR, X_PLOT, X_SOURCE, forest_figure, plot_for_records
from corpus.models import TrialRecord
from tests.corpus.test_evidence import make_trial
from tests.helpers import VENV_BIN, cli_env

BLOCK_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("network access attempted during an offline test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
"""


@pytest.fixture(scope="module")
def trials():
    return [r for r in load_records() if isinstance(r, TrialRecord)]


def ci_bounds(text: str) -> tuple[float, float]:
    """The test's own reading of a record's CI text (independent of corpus.evidence.parse_ci)."""
    low, high = re.split(r"\s*(?:-|–|—|\bto\b)\s*", text.strip())
    return float(low), float(high)


def expected_points(trials, measure: str | None = None) -> Counter:
    """(record id, HR, CI or None) for every result that reports a hazard ratio, straight from the records."""
    return Counter((t.id, r.hazard_ratio, ci_bounds(r.ci) if r.ci else None)
                   for t in trials for r in t.results
                   if r.hazard_ratio is not None and (measure is None or r.measure == measure))


def artists(fig, kind: str) -> dict[str, Line2D | Text]:
    found = {}
    for a in fig.findobj(lambda a: isinstance(a, (Line2D, Text)) and (a.get_gid() or "").startswith(kind + "|")):
        key = a.get_gid().split("|", 1)[1]
        assert key not in found, f"two {kind} marks for {key}"
        found[key] = a
    return found


def drawn_points(fig) -> Counter:
    points, intervals = artists(fig, "hr"), artists(fig, "ci")
    assert set(intervals) <= set(points)
    out = Counter()
    for key, point in points.items():
        hr = float(point.get_xdata()[0])
        ci = None
        if key in intervals:
            xs, ys = intervals[key].get_xdata(), intervals[key].get_ydata()
            assert list(ys) == [point.get_ydata()[0]] * 2, f"{key}: interval drawn on another line than its HR"
            ci = (float(xs[0]), float(xs[1]))
        out[(key.split("|")[0], hr, ci)] += 1
    return out


@pytest.mark.parametrize("measure", ["os", "pfs", None])
def test_every_plotted_hr_and_ci_equals_its_records_figures(trials, measure):
    fig = forest_figure(evidence_rows(trials, endpoint=measure))
    expected = expected_points(trials, measure)
    assert expected, "the records report hazard ratios for this endpoint"
    assert drawn_points(fig) == expected
    assert fig.axes[0].get_xscale() == "log"
    texts = artists(fig, "hrtext")
    for key, point in artists(fig, "hr").items():
        assert f"{point.get_xdata()[0]:.2f}" in texts[key].get_text()


def test_a_record_without_an_hr_produces_no_point(trials):
    new = make_trial()  # one OS result with HR, one PFS result with medians only
    fig = forest_figure(evidence_rows([*trials, new], endpoint="pfs"))
    assert not [k for k in artists(fig, "hr") if k.startswith(new.id + "|")]
    assert drawn_points(fig) == expected_points(trials, "pfs")
    only_medians = forest_figure(evidence_rows([new], endpoint="pfs"))
    assert artists(only_medians, "hr") == {}
    assert any("No hazard ratio" in t.get_text() for t in only_medians.findobj(Text))
    assert plot_for_records([new.id], "pfs", records=[new]) is None
    assert plot_for_records([new.id], "os", records=[new]) is not None


def test_a_non_95_interval_is_labelled_with_its_level(trials):
    new = make_trial()  # OS CI at 90%
    rows = evidence_rows([*trials, new])
    fig = forest_figure(rows)
    levels = {k: t.get_text() for k, t in artists(fig, "level").items()}
    hr_texts = {k: t.get_text() for k, t in artists(fig, "hrtext").items()}
    assert levels[f"{new.id}|{rows[[r.record_id for r in rows].index(new.id)].label}"] == "90% CI"
    for row in rows:
        key = f"{row.record_id}|{row.label}"
        if row.hazard_ratio is None or row.ci_low is None:
            assert key not in levels
        elif row.ci_level == 95:
            assert key not in levels and "95% CI" in hr_texts[key]
        else:
            level = "CI, level not stated" if row.ci_level is None else f"{row.ci_level:g}% CI"
            assert levels[key] == level and level in hr_texts[key]


def test_reference_line_favours_labels_groups_and_citations(trials):
    rows = evidence_rows([*trials, make_trial()])
    fig = forest_figure(rows)
    ax = fig.axes[0]
    assert any(list(line.get_xdata()) == [1, 1] for line in ax.get_lines())
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert any("favours experimental" in t for t in texts) and any("favours control" in t for t in texts)
    # group headers top to bottom in line order
    headers = [t for t in fig.findobj(Text) if t.get_text() in ("First line", "Relapsed", "Maintenance",
                                                                 "Perioperative", "Other settings")]
    ys = [t.xy[1] for t in sorted(headers, key=lambda t: -t.xy[1])]
    assert len(headers) == len({r.line for r in rows if r.hazard_ratio is not None}) and ys == sorted(ys)[::-1]
    sources = {k: t.get_text() for k, t in artists(fig, "source").items()}
    for row in rows:
        if row.hazard_ratio is not None:
            assert sources[f"{row.record_id}|{row.label}"].rstrip("…")[:20] == row.citation[:20]


def test_text_columns_stay_inside_the_figure_and_apart(trials):
    fig = forest_figure(evidence_rows([*trials, make_trial()]))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    for t in fig.findobj(Text):
        if t.get_text() and t.get_visible():
            box = t.get_window_extent(renderer)
            assert -1 <= box.x0 and box.x1 <= width + 1, f"text outside the picture: {t.get_text()!r}"
    limits = {"label": X_PLOT, "comparison": X_PLOT, "hrtext": X_ARMS, "arms": X_SOURCE, "follow": X_SOURCE,
              "source": 1.0}
    for kind, limit in limits.items():
        for key, t in artists(fig, kind).items():
            assert t.get_window_extent(renderer).x1 <= limit * width, f"{kind} of {key} runs into the next column"
    assert X_HR < X_ARMS < X_SOURCE


def test_png_is_produced_offline_by_the_cli(tmp_path, trials):
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCK_NETWORK)
    png = tmp_path / "os.png"
    proc = subprocess.run([str(VENV_BIN / "mesochat"), "evidence", "--endpoint", "OS", "--png", str(png)],
                          check=False, capture_output=True, text=True, env=cli_env(PYTHONPATH=str(block)),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 1000 and height > 300
    drew = [line for line in proc.stdout.splitlines() if line.strip().startswith("drew ")]
    expected = expected_points(trials, "os")
    assert len(drew) == sum(expected.values())
    for record_id, hr, _ in expected:
        assert any(f"[{record_id}]" in line and f"HR {hr:.2f}" in line for line in drew), (record_id, drew)
    assert f"written to {png}" in proc.stdout


def test_figure_saves_without_pyplot_or_network(trials):
    buf = BytesIO()
    forest_figure(evidence_rows(trials, endpoint="os")).savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
