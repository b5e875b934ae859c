"""assistant/retrieve/fusion.py against ranx.fuse on the same runs (as bm25s tests itself against rank_bm25)."""

from __future__ import annotations

import numpy as np
import pytest
from ranx import Run, fuse

from assistant.retrieve import fusion

pytestmark = pytest.mark.slow  # ranx compiles its numba kernels on first use (a minute or two)

QUERIES = [f"q{i}" for i in range(12)]


def make_runs(seed: int, overlap_all: bool) -> tuple[dict, dict]:
    """Two runs (dense-like cosines, BM25-like scores) over partly shared documents, best first."""
    rng = np.random.default_rng(seed)
    dense, bm25 = {}, {}
    for q in QUERIES:
        docs = [f"d{j}" for j in rng.choice(60, size=30, replace=False)]
        a = docs[:20]
        b = docs[:20] if overlap_all else docs[10:]
        a_scores = rng.uniform(0.1, 0.9, size=len(a))
        b_scores = rng.gamma(2.0, 3.0, size=len(b))
        dense[q] = dict(sorted(zip(a, a_scores.tolist()), key=lambda kv: -kv[1]))
        bm25[q] = dict(sorted(zip(b, b_scores.tolist()), key=lambda kv: -kv[1]))
    return dense, bm25


def ours(method: str, dense: dict, bm25: dict, weights, **kw) -> dict:
    return {
        q: fusion.fuse(method, [list(dense[q].items()), list(bm25[q].items())], weights, **kw) for q in QUERIES
    }


def theirs(dense: dict, bm25: dict, **kw) -> dict:
    return fuse([Run(dense, name="dense"), Run(bm25, name="bm25")], **kw).to_dict()


def assert_same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for q, scores in a.items():
        assert set(scores) == set(b[q]), q
        for doc, score in scores.items():
            assert score == pytest.approx(b[q][doc], rel=1e-6, abs=1e-9), (q, doc)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rrf_matches_ranx(seed):
    dense, bm25 = make_runs(seed, overlap_all=False)
    assert_same(ours("rrf", dense, bm25, None, rrf_k=60), theirs(dense, bm25, method="rrf", params={"k": 60}))


@pytest.mark.parametrize(("seed", "weights"), [(0, (0.5, 0.5)), (1, (0.25, 0.75)), (2, (0.8, 0.2))])
def test_minmax_weighted_sum_matches_ranx(seed, weights):
    dense, bm25 = make_runs(seed, overlap_all=False)
    expected = theirs(dense, bm25, norm="min-max", method="wsum", params={"weights": list(weights)})
    assert_same(ours("minmax", dense, bm25, weights), expected)


@pytest.mark.parametrize(("seed", "weights"), [(3, (0.5, 0.5)), (4, (0.25, 0.75))])
def test_zscore_weighted_sum_matches_ranx_when_every_document_is_in_both_runs(seed, weights):
    # ranx gives a document missing from a run 0 (that run's mean); ours gives it the run's worst z-score,
    # a deliberate difference (see fusion._zscore), so the comparison uses runs over the same documents.
    dense, bm25 = make_runs(seed, overlap_all=True)
    expected = theirs(dense, bm25, norm="zmuv", method="wsum", params={"weights": list(weights)})
    assert_same(ours("zscore", dense, bm25, weights), expected)


def test_zscore_puts_a_document_missing_from_a_run_at_that_runs_floor():
    fused = fusion.zscore([[("a", 3.0), ("b", 2.0), ("c", 1.0)], [("a", 1.0), ("b", 0.5)]], [0.5, 0.5])
    z_c_first = -np.sqrt(1.5)  # (1 - 2) / std([3, 2, 1])
    floor_second = -1.0  # the second run's worst z-score (b)
    assert fused["c"] == pytest.approx(0.5 * z_c_first + 0.5 * floor_second)
