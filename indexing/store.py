"""Chroma holds the chunk vectors: embedded (PersistentClient) or a `chroma run` server (HttpClient).

Writes go through llama-index's node <-> metadata mapping so the collection stays readable by a
plain llama-index ``ChromaVectorStore`` (tests/indexing/test_store.py checks it); queries ask the collection
directly for ids and distances only. Vectors are always
passed in: the collection has no embedding function (Chroma's default one would download a model).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from kernel.chunk import Chunk
from kernel.config import Config
from kernel.errors import MesochatError
from kernel.filters import to_chroma

_PAGE = 1000  # ids per get/delete/upsert request (well under Chroma's max batch size)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def _server_hint(settings: Config) -> str:
    u = urlparse(settings.chroma.url or "")
    return (
        f"Cannot reach the Chroma server at {settings.chroma.url}; start it with "
        f"`chroma run --path DIR --host {u.hostname or '127.0.0.1'} --port {u.port or 8000}` or drop --chroma-url"
    )


def connect(settings: Config):
    """A chromadb client for the settings; one line of advice instead of a traceback when it fails."""
    import chromadb

    if settings.chroma.url:
        u = urlparse(settings.chroma.url if "://" in settings.chroma.url else f"http://{settings.chroma.url}")
        if not u.hostname:
            raise MesochatError(f"Bad Chroma URL {settings.chroma.url!r}; use http://HOST:PORT")
        try:
            client = chromadb.HttpClient(
                host=u.hostname,
                port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https",
                settings=_chroma_settings(),
            )
            client.heartbeat()
        except MesochatError:
            raise
        except Exception as exc:
            raise MesochatError(_server_hint(settings)) from exc
        return client
    try:
        settings.paths.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.paths.chroma_dir), settings=_chroma_settings())
    except Exception as exc:
        raise MesochatError(
            f"Cannot open the Chroma database at {settings.paths.chroma_dir} ({type(exc).__name__}: {exc}); "
            "run `mesochat index --rebuild`"
        ) from exc


def _meta_value(v: Any) -> Any:
    return "" if v is None else v


def chroma_metadata(chunk: Chunk, embed_key: str) -> dict[str, Any]:
    """The filterable fields plus the key of the embedded text (to detect a stale vector)."""
    return {
        "source_type": chunk.source_type,
        "record_type": _meta_value(chunk.record_type),
        "record_id": _meta_value(chunk.record_id),
        "section": chunk.section,
        "title": chunk.title,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "page": -1 if chunk.page is None else chunk.page,
        "embed_key": embed_key,
    }


# The collection's HNSW configuration. Tests lower Chroma's own thresholds (as Chroma's property tests do) to make
# it persist its vector segment inside many more writes (tests/indexing/test_faults.py's kill campaign).
HNSW_CONFIGURATION: dict[str, Any] = {"space": "cosine"}


class ChromaStore:
    """The collection of one index; thin wrapper that pages requests and speaks chunk ids."""

    def __init__(self, settings: Config, create: bool = True):
        self.settings = settings
        self.client = connect(settings)
        try:
            if create:
                self.collection = self.client.get_or_create_collection(
                    settings.chroma.collection,
                    configuration={"hnsw": dict(HNSW_CONFIGURATION)},
                    embedding_function=None,
                )
            else:
                self.collection = self.client.get_collection(settings.chroma.collection, embedding_function=None)
        except Exception as exc:
            where = settings.chroma.url or settings.paths.chroma_dir
            if not create:
                raise MesochatError(
                    f"The Chroma collection {settings.chroma.collection!r} is missing at {where}; run `mesochat index`"
                ) from exc
            raise MesochatError(
                f"Cannot open the Chroma collection {settings.chroma.collection!r} at {where} "
                f"({type(exc).__name__}: {exc}); run `mesochat index --rebuild`"
            ) from exc
        with warnings.catch_warnings():  # "legacy embedding function config": we have none, on purpose
            warnings.simplefilter("ignore", DeprecationWarning)
            config = self.collection.configuration or {}
        space = (config.get("hnsw") or {}).get("space")
        if space not in (None, "cosine"):
            raise MesochatError(
                f"The Chroma collection {settings.chroma.collection!r} uses {space} distance, not cosine; "
                "run `mesochat index --rebuild`"
            )

    @contextlib.contextmanager
    def _reading(self):
        """A query-time Chroma failure (server gone, database unreadable) is one line with the fix, and the
        client keeps working once Chroma is back: nothing here caches the failure."""
        try:
            yield
        except MesochatError:
            raise
        except Exception as exc:
            if self.settings.chroma.url:
                raise MesochatError(
                    f"{_server_hint(self.settings)} ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
                ) from exc
            raise MesochatError(
                f"Chroma at {self.settings.paths.chroma_dir} failed ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:120]}); run `mesochat index` (or `mesochat index --rebuild`)"
            ) from exc

    def count(self) -> int:
        return self.collection.count()

    def recreate(self) -> None:
        """Drop the collection and create it empty again (the repair of a damaged vector segment)."""
        drop_collection(self.settings, self.client)
        self.collection = self.client.create_collection(
            self.settings.chroma.collection, configuration={"hnsw": dict(HNSW_CONFIGURATION)}, embedding_function=None
        )

    def _current(self, call):
        """``call(collection)``; once more with the collection looked up again by name when a builder re-created it
        since this store opened it (the repair of an unreachable vector re-creates the collection)."""
        from chromadb.errors import NotFoundError

        try:
            return call(self.collection)
        except NotFoundError:
            self.collection = self.client.get_collection(self.settings.chroma.collection, embedding_function=None)
            return call(self.collection)

    def embed_keys(self, ids: Sequence[str]) -> dict[str, str]:
        """{id: embed_key} for the ids present in the collection."""
        found: dict[str, str] = {}
        for b in range(0, len(ids), _PAGE):
            res = self.collection.get(ids=list(ids[b : b + _PAGE]), include=["metadatas"])
            for cid, meta in zip(res["ids"], res["metadatas"]):
                found[cid] = str((meta or {}).get("embed_key", ""))
        return found

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            res = self.collection.get(include=[], limit=_PAGE * 5, offset=offset)
            ids.update(res["ids"])
            if len(res["ids"]) < _PAGE * 5:
                return ids
            offset += len(res["ids"])

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray, embed_keys: Sequence[str]) -> None:
        """Write vectors with llama-index node metadata (upsert: a stale vector of a kept id is replaced)."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        for b in range(0, len(chunks), _PAGE):
            part = chunks[b : b + _PAGE]
            metadatas = []
            for chunk, key in zip(part, embed_keys[b : b + _PAGE]):
                node = TextNode(
                    id_=chunk.id,
                    text=chunk.text,
                    metadata=chroma_metadata(chunk, key),
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
                )
                # node_to_metadata_dict sets doc_id / document_id / ref_doc_id from the SOURCE relation.
                metadatas.append(node_to_metadata_dict(node, remove_text=True, flat_metadata=True))
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(embeddings[b : b + _PAGE], dtype=np.float32),
                metadatas=metadatas,
                documents=[c.text for c in part],
            )

    def delete(self, ids: Iterable[str], after_first_batch=None) -> None:
        ids = sorted(ids)
        for b in range(0, len(ids), _PAGE):
            self.collection.delete(ids=ids[b : b + _PAGE])
            if after_first_batch is not None and b == 0:
                after_first_batch()

    def query(self, embedding: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """Nearest ids with cosine similarity, asking Chroma for ids and distances only.

        Going through ``ChromaVectorStore.query`` would also fetch documents and metadata and build a
        llama-index node per hit, which dominates the cost at retrieval depths of a few hundred.
        """
        if n <= 0:
            return []
        kwargs: dict[str, Any] = {}
        cw = to_chroma(where)
        if cw is not None:
            kwargs["where"] = cw
        with self._reading():
            result = self._current(lambda col: col.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)],
                n_results=n,
                include=["distances"],
                **kwargs,
            ))
        # Cosine space: distance = 1 - cosine.
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0])]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for b in range(0, len(ids), _PAGE):
            with self._reading():
                res = self._current(lambda col, b=b: col.get(ids=list(ids[b : b + _PAGE]), include=["embeddings"]))
            for cid, emb in zip(res["ids"], res["embeddings"]):
                out[cid] = np.asarray(emb, dtype=np.float32)
        return out


def drop_collection(settings: Config, client=None) -> None:
    """Delete the whole collection (for --rebuild, once no manifest points at it); absent is fine."""
    client = client or connect(settings)
    from chromadb.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        client.delete_collection(settings.chroma.collection)
