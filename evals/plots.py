"""Recall@k per retrieval mode as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

_STYLE = {"bm25": ("tab:orange", "s"), "dense": ("tab:blue", "o"), "hybrid": ("tab:green", "D")}


def plot_recall_curves(curves: Mapping[str, Mapping[int, float]], path: str | Path, title: str = "Recall@k") -> Path:
    """One line per mode, k on a log axis; returns the written path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    try:
        for mode, curve in curves.items():
            ks = sorted(int(k) for k in curve)
            color, marker = _STYLE.get(mode, (None, "^"))
            ax.plot(ks, [curve[k] if k in curve else curve[str(k)] for k in ks], label=mode, color=color,
                    marker=marker, linewidth=1.6, markersize=4)
        ax.set_xscale("log")
        all_ks = sorted({int(k) for c in curves.values() for k in c})
        if all_ks:
            ax.set_xticks(all_ks)
            ax.set_xticklabels([str(k) for k in all_ks])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k (retrieved chunks)")
        ax.set_ylabel("Recall@k")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
