"""Reachability: every chunk the committed manifest names must be found by a dense query with its own vector.

``get()`` is the wrong witness of a healthy vector index: Chroma 1.5.9 can keep a record in its metadata
segment (``get()`` returns it) while its HNSW segment never returns it (chroma-core/chroma#7758 after deletes and
upserts, #7090 after a restart, or a process killed between the two writes). So after every build and repair
the builder queries Chroma with each committed chunk's stored vector, batched (one request per few hundred ids),
and checks the chunk comes back in the top few hits.

When some do not, :func:`repair` first deletes and re-adds just those records, then, if that is not enough,
re-creates the whole collection from the stored vectors. Neither re-embeds a chunk whose vector Chroma still
returns; only a vector Chroma lost entirely (``get(include=["embeddings"])`` fails for it) is embedded again.

    check_reachable(store, ids) -> Reachability          (used by the build and by `mesochat index --verify`)
    repair(store, chunks, keys, embed, reach) -> Reachability
    verify_index(settings) -> Reachability               (the committed index of settings; no repair)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kernel.chunk import Chunk
from kernel.config import Config
from kernel.errors import MesochatError

TOP_K = 10  # a chunk is reachable when a query with its own vector returns it among the first TOP_K hits
RETRY_K = 100  # second chance for misses: ties with identical vectors, HNSW's approximate search
QUERY_BATCH = 256  # query embeddings per Chroma request


@dataclass
class Reachability:
    total: int = 0
    unreachable: list[str] = field(default_factory=list)  # in Chroma's metadata or not, never found by query
    lost: list[str] = field(default_factory=list)  # of those, ids whose stored vector Chroma cannot return
    seconds: float = 0.0
    repaired: int = 0  # records re-added by a repair (0: nothing needed)
    reembedded: int = 0  # of those, vectors that had to be computed again (lost ones)
    repair_seconds: float = 0.0
    method: str = ""  # "re-added" or "collection re-created"

    @property
    def ok(self) -> bool:
        return not self.unreachable

    def summary(self) -> str:
        if self.ok:
            text = f"{self.total} vectors, all reachable"
            if self.repaired:
                text += (f" (repaired {self.repaired}: {self.method}, {self.reembedded} re-embedded, "
                         f"{self.repair_seconds:.1f} s)")
            return text
        example = self.unreachable[0]
        lost = f", {len(self.lost)} of them without a stored vector" if self.lost else ""
        return (f"{len(self.unreachable)} of {self.total} vectors unreachable by search{lost} "
                f"(e.g. {example!r})")


def _stored_vectors(store, ids: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """({id: stored vector}, ids Chroma holds no vector for or cannot return one for).

    Chroma fails a whole ``get`` when one id's vector is gone from the vector segment ("Error finding id"), so a
    failing page is split until the culprits are alone."""
    from chromadb.errors import ChromaError

    found: dict[str, np.ndarray] = {}
    lost: list[str] = []
    pending = [list(ids[b : b + 1000]) for b in range(0, len(ids), 1000)]
    while pending:
        part = pending.pop()
        try:
            res = store.collection.get(ids=part, include=["embeddings"])
        except ChromaError:  # "Error finding id" (a lost vector); a server that is gone raises other errors
            if len(part) == 1:
                lost.extend(part)
            else:
                half = len(part) // 2
                pending += [part[:half], part[half:]]
            continue
        got = set()
        for cid, emb in zip(res["ids"], res["embeddings"]):
            found[cid] = np.asarray(emb, dtype=np.float32)
            got.add(cid)
        lost.extend(cid for cid in part if cid not in got)
    return found, lost


def _returned_by_query(store, vectors: dict[str, np.ndarray], k: int) -> set[str]:
    """Ids whose own vector's top-k query returns them."""
    ids = list(vectors)
    n = max(1, min(k, store.count()))
    hit: set[str] = set()
    for b in range(0, len(ids), QUERY_BATCH):
        part = ids[b : b + QUERY_BATCH]
        res = store.collection.query(query_embeddings=np.stack([vectors[i] for i in part]), n_results=n,
                                     include=["distances"])
        hit.update(cid for cid, found in zip(part, res["ids"]) if cid in found)
    return hit


def check_reachable(store, ids: Sequence[str]) -> Reachability:
    """Query Chroma with each id's stored vector; ``unreachable`` lists the ids it does not return."""
    t0 = time.perf_counter()
    ids = list(dict.fromkeys(ids))
    vectors, lost = _stored_vectors(store, ids)
    hit = _returned_by_query(store, vectors, TOP_K) if vectors else set()
    missed = {i: vectors[i] for i in vectors if i not in hit}
    if missed:
        hit |= _returned_by_query(store, missed, RETRY_K)
    unreachable = [i for i in ids if i not in hit]
    lost_set = set(lost)
    return Reachability(total=len(ids), unreachable=unreachable, lost=[i for i in ids if i in lost_set],
                        seconds=time.perf_counter() - t0)


def repair(store, chunks: Sequence[Chunk], keys: Sequence[str], embed: Callable[[list[Chunk]], np.ndarray],
           reach: Reachability, log: Callable[[str], None] = lambda _m: None) -> Reachability:
    """Make every chunk reachable again from the vectors Chroma still holds; verify; MesochatError if it cannot.

    ``embed(chunks)`` computes vectors for chunks whose stored vector is gone (and only those)."""
    t0 = time.perf_counter()
    by_id = {c.id: (c, k) for c, k in zip(chunks, keys)}
    reembedded: set[str] = set()

    def vectors_for(ids: Sequence[str]) -> dict[str, np.ndarray]:
        vecs, lost = _stored_vectors(store, ids)
        if lost:
            fresh = embed([by_id[i][0] for i in lost])
            vecs.update(zip(lost, fresh))
            reembedded.update(lost)
        return vecs

    def readd(ids: Sequence[str], vecs: dict[str, np.ndarray]) -> None:
        order = [i for i in ids if i in vecs]
        store.upsert([by_id[i][0] for i in order], np.stack([vecs[i] for i in order]), [by_id[i][1] for i in order])

    # 1. delete and re-add only the unreachable records (their metadata goes with them)
    bad = [i for i in reach.unreachable if i in by_id]
    log(f"{len(bad)} of {reach.total} vectors are unreachable by search; re-adding them ...")
    vecs = vectors_for(bad)
    store.delete(bad)
    readd(bad, vecs)
    after = check_reachable(store, list(by_id))
    method = "re-added"
    if not after.ok:
        # 2. the vector segment itself is damaged: re-create the collection from the stored vectors
        log(f"{len(after.unreachable)} still unreachable; re-creating the Chroma collection from the stored vectors ...")
        all_ids = list(by_id)
        vecs = vectors_for(all_ids)
        store.recreate()
        readd(all_ids, vecs)
        after = check_reachable(store, all_ids)
        method = "collection re-created"
        bad = all_ids
    after.repaired = len(bad)
    after.reembedded = len(reembedded)
    after.repair_seconds = time.perf_counter() - t0
    after.method = method
    if not after.ok:
        raise MesochatError(
            f"Chroma still cannot find {len(after.unreachable)} of {after.total} vectors after re-creating the "
            f"collection (e.g. {after.unreachable[0]!r}); run `mesochat index --rebuild`"
        )
    return after


def verify_index(settings: Config) -> Reachability:
    """The reachability of the committed index of ``settings`` (embedded or server Chroma); nothing is changed."""
    from indexing import manifest as mf
    from indexing.store import ChromaStore

    index_dir = settings.index_dir
    manifest = mf.read_manifest(index_dir)
    if manifest is None:
        raise MesochatError(f"No index in {index_dir}; run `mesochat index`")
    settings = mf.index_config(manifest, settings)
    chunk_dicts, _docs = mf.read_generation(index_dir, manifest)
    store = ChromaStore(settings, create=False)
    with store._reading():
        return check_reachable(store, [d["id"] for d in chunk_dicts])
