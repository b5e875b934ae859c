"""Rank fusion and diversification: pure functions over ranked lists, no index needed.

A ranked list is a sequence of ``(id, score)`` pairs, best first. Every fusion returns a dict
``id -> fused score`` (higher is better) over the union of the lists; ``ranked`` orders it.

Four fusions are offered because they were all measured on SciFact train (see RetrievalConfig):
``rrf`` (reciprocal rank, Cormack et al. 2009), ``minmax`` (llama-index "relative score"),
``dbsf`` (llama-index / Qdrant "distribution-based": min-max within mean +- 3 sd) and ``zscore``.
Score fusions keep how far ahead a hit is, which ranks alone throw away; on SciFact that margin
is what makes score fusion beat RRF.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np

Ranked = Sequence[tuple[Hashable, float]]


def rrf(lists: Sequence[Ranked], weights: Sequence[float] | None = None, k: float = 60.0) -> dict:
    """Weighted reciprocal rank fusion: sum of w / (k + rank), ranks counted from 1."""
    weights = _weights(lists, weights)
    fused: dict = {}
    for items, w in zip(lists, weights):
        for rank, (key, _) in enumerate(items, start=1):
            fused[key] = fused.get(key, 0.0) + w / (k + rank)
    return fused


def _normalised_fusion(norm: Callable[[np.ndarray], tuple[np.ndarray, float]]):
    """Weighted sum of per-list normalised scores; an id missing from a list gets that list's floor."""

    def fuse(lists: Sequence[Ranked], weights: Sequence[float] | None = None) -> dict:
        weights = _weights(lists, weights)
        normed = []
        for items in lists:
            scores = np.array([s for _, s in items], dtype=np.float64)
            values, floor = norm(scores) if len(scores) else (scores, 0.0)
            normed.append(({key: float(v) for (key, _), v in zip(items, values)}, floor))
        keys = list(dict.fromkeys(key for items in lists for key, _ in items))
        return {
            key: sum(w * found.get(key, floor) for (found, floor), w in zip(normed, weights)) for key in keys
        }

    return fuse


def _minmax(s: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = s.min(), s.max()
    return ((s - lo) / (hi - lo) if hi > lo else np.ones_like(s)), 0.0


def _dbsf(s: np.ndarray) -> tuple[np.ndarray, float]:
    mu, sd = s.mean(), s.std()
    lo, hi = mu - 3 * sd, mu + 3 * sd
    return ((s - lo) / (hi - lo) if hi > lo else np.ones_like(s)), 0.0


def _zscore(s: np.ndarray) -> tuple[np.ndarray, float]:
    sd = s.std()
    z = (s - s.mean()) / sd if sd > 0 else np.zeros_like(s)
    return z, float(z.min())  # unseen by this retriever: as bad as its worst listed hit


minmax = _normalised_fusion(_minmax)
dbsf = _normalised_fusion(_dbsf)
zscore = _normalised_fusion(_zscore)

FUSIONS: dict[str, Callable[..., dict]] = {"rrf": rrf, "minmax": minmax, "dbsf": dbsf, "zscore": zscore}


def fuse(
    method: str, lists: Sequence[Ranked], weights: Sequence[float] | None = None, rrf_k: float = 60.0
) -> dict:
    if method == "rrf":
        return rrf(lists, weights, k=rrf_k)
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion {method!r}; use one of {', '.join(FUSIONS)}")
    return FUSIONS[method](lists, weights)


def boost(fused: dict, chosen: Callable[[Hashable], bool], weight: float, only: bool = False) -> dict:
    """``weight`` added to the fused score of every chosen id (``only``: the others dropped, unless none is
    chosen, so a filter never empties the list)."""
    picked = {key for key in fused if chosen(key)}
    if only and picked:
        return {key: score + weight for key, score in fused.items() if key in picked}
    return {key: score + weight if key in picked else score for key, score in fused.items()}


def ranked(fused: dict, k: int | None = None) -> list[tuple[Hashable, float]]:
    """Best first; ties broken by id so results are deterministic."""
    items = sorted(fused.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return items if k is None else items[:k]


def max_pool(items: Ranked, group: Callable[[Hashable], Hashable]) -> list[tuple[Hashable, float]]:
    """Collapse a ranked list of chunks to its groups (documents), each scored by its best chunk."""
    best: dict = {}
    for key, score in items:
        g = group(key)
        if g not in best or score > best[g]:
            best[g] = score
    return ranked(best)


def cap_per_group(
    items: Ranked, group: Callable[[Hashable], Hashable], cap: int
) -> list[tuple[Hashable, float]]:
    """Keep the order but at most ``cap`` items of each group (``cap=1``: each document's best chunk)."""
    seen: dict = {}
    out = []
    for key, score in items:
        g = group(key)
        if seen.get(g, 0) < cap:
            seen[g] = seen.get(g, 0) + 1
            out.append((key, score))
    return out


def mmr(
    candidates: Sequence[tuple[Hashable, float]],
    vectors: np.ndarray,
    k: int,
    lambda_: float = 0.7,
) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein 1998) over a relevance-ranked list.

    ``vectors`` are L2-normalised rows aligned with ``candidates``. Relevance is the fused score
    rescaled to [0, 1] so it is comparable to cosine similarity; each step picks the candidate
    maximising ``lambda * relevance - (1 - lambda) * max cosine to those already picked``.
    Returns the picked positions in order. ``lambda_ = 1`` keeps the input order.
    """
    n = len(candidates)
    if n == 0 or k <= 0:
        return []
    rel = np.array([s for _, s in candidates], dtype=np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones(n)
    sims = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    picked: list[int] = []
    max_sim = np.full(n, -np.inf)
    free = np.ones(n, dtype=bool)
    while len(picked) < min(k, n):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        gain = lambda_ * rel - (1.0 - lambda_) * penalty
        gain[~free] = -np.inf
        best = int(np.argmax(gain))  # argmax takes the first of equal gains: the better-ranked one
        picked.append(best)
        free[best] = False
        max_sim = np.maximum(max_sim, sims[best])
    return picked


def _weights(lists: Sequence[Ranked], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(lists)
    if len(weights) != len(lists):
        raise ValueError(f"{len(weights)} weights for {len(lists)} ranked lists")
    return [float(w) for w in weights]
