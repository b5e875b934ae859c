"""Hybrid retrieval over the index: MiniLM (Chroma) + BM25 (bm25s), fused, then diversified by MMR.

``Retriever.retrieve`` returns chunks (what answers cite); ``Retriever.retrieve_docs`` returns
document ids, each scored by its best chunk, for document-level benchmarks such as BEIR.
Fusion and its parameters (``kernel.config.RetrievalConfig``, the ``retrieval`` section of the config) were
chosen on data that is never reported: chunk retrieval (chat) on review-dev, document retrieval on SciFact *train*.

Document level (``retrieve_docs``, BEIR; doc = best chunk), SciFact train nDCG@10 with bm25s defaults:
RRF k=60 0.708; score fusions at dense weight 0.5: minmax 0.725, dbsf 0.724, zscore 0.724 (weights
0.4-0.6 within 0.004); with BM25 k1=0.9 b=0.4 zscore 0.730. Score fusion beats RRF because it keeps how
far ahead a hit is. Dense Rocchio feedback moved train by -0.003..+0.002: available, off.

Chunk level (``retrieve``, what answers cite), review-dev (43 answerable questions), zscore, MMR off:
dense weight 0.5 nDCG@10 0.801 / R@5 0.919 / MRR@10 0.748; 0.2-0.35 a plateau at 0.874-0.888 / 0.965-0.977
/ 0.839-0.857 (0.25: 0.887 / 0.977 / 0.853); 0 (BM25 only) 0.793. The review's records are short and full
of names and abbreviations that BM25 matches exactly and MiniLM blurs, hence the lexical lean. MMR
lowered MRR@10 at every weight on the plateau (lambda 0.9: -0.01, 0.7: -0.016), so it is off by default;
capping chunks per document lost recall (the abstract is one document with several answers). Test sets
were read only for reporting.

Retrieval v2 (issue 20), chunk level, tuned on review-dev (43), review-v2-dev (130, record-level) and
retrieval-v2-dev (75, field-level) with the in-memory harness ``evals/ablation.py`` (exact dense search):
- a record's "Names" and "Sources" passages (short, dense in names) took rank 1 from the chunk holding the
  asked field; ``aux_penalty`` 2 (z units off their fused score) lifts review-dev nDCG@10 0.815 -> 0.872
  (penalty 1: 0.860; dropping them: same on v1, worse on v2 record-level judgements);
- name-aware (``retrieve(named=...)``, ids from the query analyser): the named records' chunks join the
  candidates (``named_depth`` 20 from each retriever) and get ``named_weight`` added. Weight 0 / 1 / 2 / 3 / 4:
  retrieval-v2-dev nDCG@10 0.71 / 0.81 / 0.89 / 0.92 / 0.93, field MRR@10 0.70 / 0.70 / 0.75 / 0.76 / 0.76;
  review-dev 0.872 / 0.854 / 0.832 / 0.832 / 0.820 (its misses are bibliographic questions whose answer is
  the reference, not the named trial). 3 is the default; a filter (only named chunks) loses recall (0.75);
- field-aware BM25 (title counted 2x, field label 1x more): within 0.01 everywhere, so both stay at 1 / 0;
  a field-label prefix on the dense text (``Name - field``) likewise (retrieval-v2-dev 0.925 vs 0.922);
- fusion at this setting on review-dev (name-blind): z-score 0.815, convex min-max 0.792, RRF 0.751.

Retrieval v3 (issue 20 continued), tuned on review-dev, retrieval-v2-dev, review-v2-dev and SciFact train only:
- ``named_review``: a question naming the review itself ("which partners does the review propose...?") names
  the review document (``QueryPlan.names_review``, ``named_records``). Hybrid-named review-dev nDCG@10 / R@5
  0.827 / 0.914 -> 0.881 / 0.962, retrieval-v2-dev 0.908 -> 0.933, review-v2-dev 0.911 -> 0.929;
- document-level BM25 (``doc_bm25_unit`` "document"): ``retrieve_docs`` scores BM25 over whole documents
  instead of a document's best chunk (SciFact abstracts are ~3 chunks), and RM3 (``doc_rm3_*``: 10 feedback
  documents from the first fused ranking, 10 terms, original query weight 0.7) expands it. SciFact train hybrid
  0.7312 -> 0.7353 (whole documents) -> 0.7392 (RM3), R@100 0.9569 -> 0.9621; RM3 over the chunk index instead:
  0.7326; RM3 docs 5/15, terms 5/15/20, weight 0.6/0.8/0.9 and document weights 0.4-0.55 all within 0.003.
- measured and not adopted (dev): a per-document score decay (0.25-1.5 per extra chunk) or a hard cap (2/3/5
  chunks) lifts review-dev by <= 0.01 and costs retrieval-v2-dev 0.04-0.3 (its graded judgements reward the
  named record's other chunks); a smaller boost for the records the named ones relate to or cite (0.5-2, all
  kinds, trials, references): within 0.01; chunk-level dense Rocchio (3-10 hits, weight 0.3/0.7) and
  ``named_depth`` 10/40: within 0.01; dense weight 0.15/0.35/0.5 and ``named_weight`` 2-4 and ``aux_penalty``
  1/3: no better than the defaults. On SciFact: dense Rocchio 0.734 (+0.003) but none once RM3 is on; a
  document's mean chunk vector as a second dense list: lower; fusion (best chunk BM25, dense weight 0.3-0.7):
  z-score 0.731, DBSF 0.733 (at 0.4), min-max 0.730, RRF 0.714, so z-score stays.

Retrieval v4 (issue 20 continued), tuned on review-dev, review-v2-dev, retrieval-v2-dev and SciFact train only:
- the class of hybrid-named misses left on review-dev is the bibliographic question ("which paper in the
  reference list reported ATOMIC-Meso?", "which reference is the NICE appraisal of ..."): its answer is a
  reference entry, and the named boost lifted the named record's own chunks over it (ref:36 not in the top
  10). ``named_cited_refs``: such a question (``asks_bibliography``, the answer layer's test) also names the
  references its named records cite (``plan.linked_refs``), with the same weight. Review-dev hybrid-named
  nDCG@10 / R@5 / MRR@10 0.881 / 0.962 / 0.853 -> 0.903 / 0.986 / 0.875, review-v2-dev 0.929 -> 0.929,
  retrieval-v2-dev 0.933 -> 0.933. Boosting the cited references *instead of* the named records: review-dev
  0.908 but review-v2-dev 0.919 and retrieval-v2-dev 0.929 (their bibliographic items judge the record too).
  (Round v3 had measured the same gain and left it out as one question's worth, noted in evals/RESULTS.md
  only; it is kept now as part of the bibliographic class with ``biblio_ref_weight`` below, after the dev
  sets not used for tuning showed no loss: review-v2.1-dev +0.0008, review-v2.2-dev +0.0007, records3 0.)
- the other class, on retrieval-v2-dev (field-level judgements) and review-dev: the named record comes first,
  but not its chunk that holds the asked field ("Who was eligible for CheckMate 743?", "NCT of ATOMIC-Meso",
  "primary endpoint of checkmate743": the population / registration / endpoint sentence of the main chunk
  ranked 3-7, under results chunks that share the name and more words; "What ipilimumab dose ... in
  CheckMate 743?": the Arms chunk at 4). ``field_weight``: within a named record, a chunk whose span overlaps
  a field the question asks for (``asked_fields``: the attribute vocabulary's fields, ``measure:<m>`` for
  results; ``chunk_fields``: the record's rendered field spans) gets this much more. Weight 0 / 0.5 / 1 /
  1.5 / 2, hybrid-named nDCG@10: review-dev 0.903 / 0.916 / 0.916 / 0.916 / 0.908, review-v2-dev 0.929 /
  0.933 / 0.932 / 0.932 / 0.932, retrieval-v2-dev 0.933 / 0.956 / 0.957 / 0.962 / 0.962 (its field hit@1
  0.65 / 0.83 / 0.85 / 0.91 / 0.91, hit@5 0.96 -> 1.0 from 1.5). 1.5 is the default; name-blind is unchanged.
- the third class, on review-v2-dev: a list question ("which trials used ipilimumab?", "which trials targeted
  mesothelin?") names an agent or biomarker, and its boost put that record's chunks over the trials asked
  for. ``named_related_kind``: such a question (``asks_list_of``: "which/what ... trials|studies|drugs|agents|
  antibodies") also names the records of that kind its named records relate to (``plan.related``; the
  unconditional related boost of v3 was within 0.01). review-v2-dev 0.932 -> 0.943, the two others unchanged.
- with names, a bibliographic question also lifts every reference entry by ``biblio_ref_weight`` ("which
  reference is the NICE appraisal of nivolumab with ipilimumab?": the appraisal is not a reference the
  agents' records cite). Weight 0 / 1 / 1.5 / 2 / 3, review-dev hybrid-named nDCG@10 0.916 / 0.927 / 0.927 /
  0.930 / 0.915 (3 pushes references over the review's own front matter); review-v2-dev and retrieval-v2-dev
  -0.0001 at 1-2. Name-blind it cost review-v2-dev 0.005 (bibliographic items judging the record), so it
  applies only with names; 1.5 is the default.
- SciFact (``retrieve_docs``): ``doc_sentence_weight``: a document's dense score is its best chunk's cosine
  plus this times its best sentence's (the quotable units of its chunks, ``indexing.units``: each abstract
  sentence and the title; exact search over all ~50k SciFact sentences, vectors stored with the generation
  like the review's, embedded on first use where absent; a filtered search keeps the chunk score). A claim is
  usually supported by one sentence, which a 160-word chunk (18% of SciFact chunks exceed MiniLM's 256
  tokens) dilutes. Train dense alone 0.662 -> 0.697; hybrid 0.7392 -> 0.7470 (weight 0.5 / 0.75 / 1 / 1.25 /
  1.5: 0.7428 / 0.7466 / 0.7470 / 0.7478 / 0.7463; R@100 0.962 throughout); best sentence alone as the dense
  list 0.732, without the titles 0.745. Document weights re-fitted with it: 0.45 / 0.5 / 0.55 / 0.6 dense
  0.7446 / 0.7470 / 0.7468 / 0.7461, so 0.5 stays.
- SciFact, measured on train and not adopted (hybrid nDCG@10 against 0.7392): BM25 k1 / b over whole documents
  with RM3 (0.7-1.5 x 0.3-0.75: 0.7361-0.7396) -- the chunk-level fit holds; tokenisation (Porter instead
  of Snowball 0.7385, no stemming 0.7279, single letters kept 0.7399, hyphenated / slashed compounds joined
  into an extra token 0.7347, digits too 0.7341); word bigrams in the BM25 index 0.7346 (as a third list of
  their own they drag the fusion to 0.65: most documents share no bigram with the claim); fusion depth 100 /
  200 / 500 / 1000 documents 0.7367 / 0.7388 / 0.7408 / 0.7401; other weights for RM3's first ranking
  (0.3/0.7, 0.7/0.3) 0.7387 / 0.7376; the whole document embedded once (FirstP, truncated at 256 tokens)
  as the dense list 0.7406, added to the best chunk 0.7382-0.7405, as a third list 0.7365-0.7417, beside
  the sentences +0.0006; best chunk + mean chunk 0.7369-0.7400; abstract chunks plus a weighted title score
  0.7334-0.7372; a second stage re-ranking the top 20/30/50 by the FirstP cosine (weight 0.2-0.7) 0.7343-
  0.7374 or by best chunk / best chunk + FirstP 0.7348-0.7355; score smoothing over each document's 3-5
  nearest FirstP neighbours in the top 30-100 0.7371-0.7388; chunk-level BM25 as a third list 0.7385-0.7400.
  On top of the sentence score (0.7465 in the same exploration code): the mean of the two best sentences
  instead of the best 0.7441 (half each 0.7449); BM25 over the sentences (best sentence per document) as a
  third z-score list, weights dense / document BM25 / sentence BM25 0.5/0.4/0.1 0.7480, 0.5/0.3/0.2 0.7497,
  0.5/0.5/0.1 0.7442: +0.003 at best and weight-sensitive, not worth a third index.
- checked on dev sets not used for tuning (hybrid-named nDCG@10, the v4 changes off -> on):
  review-v2.1-dev 0.929 -> 0.943, review-v2.2-dev 0.932 -> 0.949, review-v2-records3-dev 0.898 -> 0.901.
- test, read once for the configuration kept (evals/RESULTS.md): review-test hybrid-named nDCG@10 / R@5
  0.895 / 0.954 -> 0.935 / 0.985 (name-blind 0.863 / 0.954, unchanged); SciFact test hybrid (harness)
  0.7305 -> 0.7398, R@100 0.9593 -> 0.9617, short of the 0.745 target.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.retrieve import fusion
from indexing.bm25 import BM25Index, rm3_query
from indexing.render import is_quotable_section
from indexing.sources import REVIEW_DOC_ID
from kernel.chunk import Chunk
from kernel.config import RetrievalConfig
from kernel.errors import MesochatError

MODES = ("hybrid", "dense", "bm25")
_DOC_BM25_LOCK = threading.Lock()
_FIELDS_LOCK = threading.Lock()
_SENTENCES_LOCK = threading.Lock()
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score in hybrid mode, else the single retriever's score
    dense_rank: int | None = None  # 1-based rank in the dense candidate list; None if not in it
    bm25_rank: int | None = None
    dense_score: float | None = None  # cosine similarity
    bm25_score: float | None = None


class Retriever:
    def __init__(self, index, config: RetrievalConfig | None = None):
        self.index = index
        # Default: the retrieval section of the config the index was opened with.
        self.config = config or getattr(getattr(index, "settings", None), "retrieval", None) or RetrievalConfig()

    # --- public -----------------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        k: int = 8,
        mode: str = "hybrid",
        where: dict[str, Any] | None = None,
        mmr_lambda: float | None = None,
        named: Sequence[str] = (),
        fields: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The k best chunks for ``query``; ``where`` filters both retrievers (see Index.dense_search).

        ``named``: ids of the records (or documents) the question names, as the query analyser found them
        (``named_records(plan)``). In hybrid mode their chunks join the candidates with their own scores and
        get ``config.named_weight`` added to the fused score (``config.named_filter``: only they are kept
        when any matches). Empty, or ``named_weight`` 0, is the name-blind retriever.

        ``fields``: the record fields the question asks for (``asked_fields``; None: read from ``query``).
        A named record's chunks that hold one of them get ``config.field_weight`` more, so "Who was eligible
        for CheckMate 743?" ranks the chunk stating the population above CheckMate 743's results. With names,
        a bibliographic question (``asks_bibliography``) also lifts every reference entry by
        ``config.biblio_ref_weight``. The name-blind retriever (``named`` empty) has none of these."""
        query = _check(query, mode)
        if k <= 0:
            return []
        cfg = self.config
        named = tuple(dict.fromkeys(named)) if mode == "hybrid" else ()
        if not cfg.named_review:
            named = tuple(n for n in named if n != REVIEW_DOC_ID)
        # Candidates and the MMR pool do not depend on k, so the top 10 at k=10 is the top 10 at k=100.
        dense, bm25 = self._candidates(query, mode, max(cfg.depth, k), where, named)
        asked = () if not (named and cfg.field_weight) else tuple(asked_fields(query) if fields is None else fields)
        ordered = self._combine(mode, dense, bm25, named=named, fields=asked)
        if named and cfg.biblio_ref_weight and asks_bibliography(query):
            # "Which reference is the NICE appraisal of nivolumab ...?": its answer is a reference entry
            chunks = self.index.chunks
            ordered = fusion.ranked(fusion.boost(dict(ordered), lambda cid: chunks[cid].record_type == "ref",
                                                 cfg.biblio_ref_weight))
        lam = cfg.mmr_lambda if mmr_lambda is None else mmr_lambda
        if lam < 1.0 and len(ordered) > 1:
            pool = ordered[: cfg.mmr_pool]
            vectors = self.index.chunk_embeddings([cid for cid, _ in pool])
            picked = fusion.mmr(pool, vectors, len(pool), lam)
            ordered = [pool[i] for i in picked] + ordered[len(pool) :]
        if cfg.max_per_doc:
            ordered = fusion.cap_per_group(ordered, self._doc_of, cfg.max_per_doc)
        return [self._hit(cid, score, dense, bm25) for cid, score in ordered[:k]]

    def retrieve_docs(
        self, query: str, k: int = 100, mode: str = "hybrid", where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """The k best document ids. Dense: each document scored by its best chunk (max-pooling). BM25: by its
        best chunk too, or (``config.doc_bm25_unit`` "document") over whole documents, with RM3 expansion from
        the first fused ranking in hybrid mode (``config.doc_rm3_docs``)."""
        query = _check(query, mode)
        if k <= 0:
            return []
        cfg = self.config
        depth = max(cfg.depth, k * cfg.doc_depth_factor)
        whole = cfg.doc_bm25_unit == "document" and mode != "dense"
        vec = self.index.embed_query(query) if mode != "bm25" else None
        dense, bm25 = self._candidates(query, mode, depth, where, chunk_bm25=not whole, vec=vec)
        doc_of = self._doc_of
        dense_docs = fusion.max_pool(dense, doc_of)
        if vec is not None and cfg.doc_sentence_weight and not where:
            dense_docs = self._sentence_docs(vec, dense_docs, depth)
        weights = (cfg.doc_dense_weight, cfg.doc_bm25_weight)
        if not whole:
            return self._combine(mode, dense_docs, fusion.max_pool(bm25, doc_of), weights, chunk_level=False)[:k]
        documents = self._document_bm25()
        bm25_docs = documents.search(query, depth, where)
        if mode == "hybrid" and cfg.doc_rm3_docs and cfg.doc_rm3_terms and cfg.doc_rm3_weight < 1 and bm25_docs:
            first = self._combine(mode, dense_docs, bm25_docs, weights, chunk_level=False)[: cfg.doc_rm3_docs]
            expanded = rm3_query(query, documents.feedback_terms(first, cfg.doc_rm3_terms), cfg.doc_rm3_weight)
            bm25_docs = documents.search_weighted(expanded, depth, where)
        return self._combine(mode, dense_docs, bm25_docs, weights, chunk_level=False)[:k]

    # --- steps ------------------------------------------------------------------------------
    def _doc_of(self, chunk_id: str) -> str:
        return self.index.chunks[chunk_id].doc_id

    def _document_bm25(self) -> BM25Index:
        """BM25 over whole documents (one text per document, the index's own document texts), built in memory
        on first use and kept on the index: seconds for SciFact's 5k abstracts, and nothing to save."""
        params = self.config.bm25_params
        key = repr(sorted(params.items()))
        cached = getattr(self.index, "_document_bm25", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        with _DOC_BM25_LOCK:
            cached = getattr(self.index, "_document_bm25", None)
            if cached is not None and cached[0] == key:
                return cached[1]
            first: dict[str, Chunk] = {}
            for chunk in self.index.chunks.values():
                first.setdefault(chunk.doc_id, chunk)
            units = []
            for doc_id, c in first.items():
                text = self.index.doc_text(doc_id)
                units.append(Chunk(id=doc_id, doc_id=doc_id, title=c.title, text=text, section="", char_start=0,
                                   char_end=len(text), page=None, source_type=c.source_type, record_id=c.record_id,
                                   record_type=c.record_type))
            built = BM25Index.build(units, params, keep_terms=True)
            self.index._document_bm25 = (key, built)
            return built

    def _sentence_docs(self, vec: np.ndarray, chunk_docs: list, depth: int) -> list[tuple[str, float]]:
        """Documents by best chunk cosine + ``doc_sentence_weight`` x best sentence cosine: the chunk list
        (``chunk_docs``, max-pooled) joined with the ``depth`` documents whose best sentence is closest (exact
        search over every sentence); a document missing from one list gets that list's lowest score."""
        doc_ids, starts, matrix = self._sentences()
        if not doc_ids:
            return chunk_docs
        best = np.maximum.reduceat(matrix @ np.asarray(vec, dtype=np.float32), starts)
        top = np.argpartition(-best, depth)[:depth] if len(best) > depth else np.arange(len(best))
        sentence = {doc_ids[i]: float(best[i]) for i in top}
        chunk = dict(chunk_docs)
        s_floor = min(sentence.values())
        c_floor = min(chunk.values()) if chunk else 0.0
        w = self.config.doc_sentence_weight
        scored = {d: chunk.get(d, c_floor) + w * sentence.get(d, s_floor) for d in {*chunk, *sentence}}
        return fusion.ranked(scored)[:depth]

    def _sentences(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(document ids, start row of each document, sentence vectors grouped by document): the quotable
        units (``indexing.units``: sentences, the title chunk as one) of every chunk. Vectors come from the
        index's precomputed units (the built-in corpus) or are embedded on first use (SciFact: ~50k sentences,
        many minutes on a laptop CPU) and kept with the index in memory."""
        return self._per_index("_doc_sentences", _SENTENCES_LOCK, lambda: _sentence_matrix(self.index))

    def _candidates(self, query: str, mode: str, depth: int, where, named: Sequence[str] = (),
                    chunk_bm25: bool = True, vec: np.ndarray | None = None) -> tuple[list, list]:
        if vec is None and mode != "bm25":
            vec = self.index.embed_query(query)
        dense = self.index.dense_search(vec, depth, where=where) if mode != "bm25" else []
        bm25 = self.index.bm25_search(query, depth, where=where) if mode != "dense" and chunk_bm25 else []
        cfg = self.config
        if mode == "hybrid" and cfg.prf_docs > 0 and cfg.prf_weight > 0 and (dense or bm25):
            dense = self._dense_feedback(query, dense, bm25, depth, where)
        records = [n for n in named if n != REVIEW_DOC_ID]  # the review is a document: its chunks have no record
        if records and cfg.named_weight and cfg.named_depth:
            # The named records' best chunks, scored by each retriever as usual, join its list.
            only = _and_where(where, {"record_id": {"$in": records}})
            dense = _merge(dense, self.index.dense_search(vec, cfg.named_depth, where=only))
            bm25 = _merge(bm25, self.index.bm25_search(query, cfg.named_depth, where=only))
        return dense, bm25

    def _dense_feedback(self, query: str, dense: list, bm25: list, depth: int, where) -> list:
        """Rocchio in embedding space: move the query towards the top fused chunks, search again."""
        cfg = self.config
        top = [cid for cid, _ in self._combine("hybrid", dense, bm25)[: cfg.prf_docs]]
        centroid = self.index.chunk_embeddings(top).mean(axis=0)
        vec = self.index.embed_query(query) + cfg.prf_weight * centroid
        vec = vec / (np.linalg.norm(vec) or 1.0)
        return self.index.dense_search(vec, depth, where=where)

    def _combine(self, mode: str, dense: list, bm25: list, weights=None, named: Sequence[str] = (),
                 chunk_level: bool = True, fields: Sequence[str] = ()) -> list[tuple[str, float]]:
        if mode == "dense":
            return list(dense)
        if mode == "bm25":
            return list(bm25)
        cfg = self.config
        weights = weights or (cfg.dense_weight, cfg.bm25_weight)
        fused = fusion.fuse(cfg.fusion, [dense, bm25], list(weights), rrf_k=cfg.rrf_k)
        if not chunk_level:  # documents (retrieve_docs): no passage penalty, no names
            return fusion.ranked(fused)
        chunks = self.index.chunks
        if cfg.aux_penalty:  # passages that help search but are never quoted (a record's names, sources)
            fused = fusion.boost(fused, lambda cid: not is_quotable_section(chunks[cid].section), -cfg.aux_penalty)
        if named and cfg.named_weight:
            wanted = set(named)
            fused = fusion.boost(fused, lambda cid: chunks[cid].record_id in wanted or chunks[cid].doc_id in wanted,
                                 cfg.named_weight, only=cfg.named_filter)
            if fields and cfg.field_weight:  # within a named record: the chunks holding the asked field
                held, asked = self._chunk_fields(), set(fields)
                fused = fusion.boost(fused, lambda cid: chunks[cid].doc_id in wanted and bool(held.get(cid, _NONE) & asked),
                                     cfg.field_weight)
        return fusion.ranked(fused)

    def _per_index(self, name: str, lock: Any, build: Callable[[], Any]) -> Any:
        """A value derived from the index's chunks, built once (under ``lock``) and kept on the index until the
        chunks change."""
        cached = getattr(self.index, name, None)
        if cached is not None and cached[0] is self.index.chunks:
            return cached[1]
        with lock:
            cached = getattr(self.index, name, None)
            if cached is not None and cached[0] is self.index.chunks:
                return cached[1]
            built = build()
            setattr(self.index, name, (self.index.chunks, built))
            return built

    def _chunk_fields(self) -> dict[str, frozenset[str]]:
        """Per record chunk, the fields its text holds (``chunk_fields``); computed once per index."""
        return self._per_index("_chunk_fields", _FIELDS_LOCK,
                               lambda: chunk_fields(self.index.chunks.values(), self.index.doc_text))

    def _hit(self, cid: str, score: float, dense: list, bm25: list) -> Hit:
        d_rank, d_score = _position(dense, cid)
        b_rank, b_score = _position(bm25, cid)
        return Hit(self.index.chunks[cid], float(score), d_rank, b_rank, d_score, b_score)

    def with_config(self, **changes) -> Retriever:
        return Retriever(self.index, RetrievalConfig(**{**self.config.model_dump(), **changes}))


def named_records(plan: Any, config: RetrievalConfig | None = None) -> tuple[str, ...]:
    """The record ids a question names, from a query analyser plan (``QueryAnalyzer.analyze``): the things it
    names (trials, agents, biomarkers, mechanisms; glossary words are vocabulary, not subjects), the
    references it cites by number, and the review document when the question names the review itself
    ("what does the review propose?"; ``RetrievalConfig.named_review``). A bibliographic question ("which
    paper reported ATOMIC-Meso?", "which reference is ...") also names the references its named records cite
    (``plan.linked_refs``; ``RetrievalConfig.named_cited_refs``): its answer is a reference entry, not the
    record. A list question ("which trials tested pembrolizumab?") also names the records of the kind it asks
    that its named records relate to (``plan.related``; ``RetrievalConfig.named_related_kind``)."""
    cfg = config or RetrievalConfig()
    question = getattr(plan, "question", "") or ""
    entities = list(getattr(plan, "entity_ids", ()) or ())
    refs = [f"ref:{n}" for n in getattr(plan, "ref_numbers", ()) or ()]
    if cfg.named_cited_refs and asks_bibliography(question):
        refs += list(getattr(plan, "linked_refs", ()) or ())
    kind = asks_list_of(question) if cfg.named_related_kind and entities else None
    if kind:  # "which trials tested pembrolizumab?": the trials pembrolizumab's record relates to
        entities += [r for r in getattr(plan, "related", ()) or () if r.startswith(f"{kind}:")]
    review = [REVIEW_DOC_ID] if getattr(plan, "names_review", False) else []
    return tuple(dict.fromkeys([*entities, *refs, *review]))


_LIST_OF = re.compile(r"\b(?:which|what)\s+(?:[\w-]+\s+){0,3}?(trials|studies|drugs|agents|antibodies)\b", re.IGNORECASE)
_LIST_KIND = {"trials": "trial", "studies": "trial", "drugs": "agent", "agents": "agent", "antibodies": "agent"}


def asks_list_of(question: str) -> str | None:
    """The record type a list question asks for ("which trials tested X?" -> "trial"), else None."""
    m = _LIST_OF.search(question)
    return _LIST_KIND[m.group(1).lower()] if m else None


def _sentence_matrix(index) -> tuple[list[str], np.ndarray, np.ndarray]:
    from indexing.units import MIN_UNIT_CHARS, quotable_units, text_key

    per_doc: dict[str, dict[str, str]] = {}
    for chunk in index.chunks.values():
        text = index.doc_text(chunk.doc_id)
        units = per_doc.setdefault(chunk.doc_id, {})
        for start, end in quotable_units(chunk, text):
            if end - start >= MIN_UNIT_CHARS:
                units.setdefault(text_key(text[start:end]), text[start:end])
    doc_ids = [d for d, units in per_doc.items() if units]
    keys = [k for d in doc_ids for k in per_doc[d]]
    if not keys:
        return [], np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    known = getattr(index, "unit_vectors", None) or {}
    texts = {k: t for d in doc_ids for k, t in per_doc[d].items()}
    todo = [k for k in dict.fromkeys(keys) if k not in known]
    fresh = dict(zip(todo, index.embed_texts([texts[k] for k in todo]))) if todo else {}
    matrix = np.stack([np.asarray(known[k] if k in known else fresh[k], dtype=np.float32) for k in keys])
    starts = np.cumsum([0] + [len(per_doc[d]) for d in doc_ids[:-1]])
    return doc_ids, starts, matrix


def asked_fields(question: str) -> tuple[str, ...]:
    """The record fields a question asks for, by the attribute vocabulary (``find_attributes``): the rendered
    field keys that hold each attribute ("population", "arms", "registration", ...) and ``measure:<m>`` for
    the trial results it asks ("measure:os" for an overall survival or hazard ratio question)."""
    from assistant.understand.attributes import find_attributes

    out: list[str] = []
    for attr in find_attributes(question):
        out += [*attr.fields, *(f"measure:{m}" for m in attr.measures)]
    return tuple(dict.fromkeys(out))


def chunk_fields(chunks: Iterable[Chunk], doc_text) -> dict[str, frozenset[str]]:
    """Per chunk of a record document, the keys of the record fields its span overlaps
    (``indexing.render.render_fields``): "population", "arms", "result" and "result:3" and "measure:os" for a
    result, "approval" and "approval:0", ... Records whose rendering differs from the indexed text (an index
    built from other records) and documents that are not records get none."""
    from corpus import load_records
    from indexing.render import record_names, render_fields

    chunks = [c for c in chunks if c.source_type == "record" and c.record_type != "ref"]
    if not chunks:
        return {}
    everything = load_records()
    records = {r.id: r for r in everything if r.type != "ref"}
    names = record_names(everything)  # as the index rendered them: linked records named
    spans: dict[str, tuple[Any, list]] = {}
    for doc_id in {c.doc_id for c in chunks}:
        record = records.get(doc_id)
        if record is None:
            continue
        rendered = render_fields(record, names)
        if rendered.text == doc_text(doc_id):
            spans[doc_id] = (record, rendered.fields)
    out: dict[str, frozenset[str]] = {}
    for c in chunks:
        if c.doc_id not in spans:
            continue
        record, fields = spans[c.doc_id]
        keys: set[str] = set()
        for f in fields:
            if f.start < c.char_end and f.end > c.char_start:
                head, _, number = f.key.partition(":")
                keys |= {f.key, head}
                if head == "result" and number.isdigit() and int(number) < len(getattr(record, "results", ())):
                    keys.add(f"measure:{record.results[int(number)].measure}")
        out[c.id] = frozenset(keys)
    return out


_ASKS_REF = re.compile(r"\b(?:which|what) (?:references?|refs?)\b", re.IGNORECASE)


def asks_bibliography(question: str) -> bool:
    """A question whose answer is a reference entry: the answer layer's test (``is_bibliographic``: journal,
    authors, paper, publication, ...) or "which reference ...", as ``assistant.api`` forces a cited reference."""
    from assistant.answer.extractive import is_bibliographic  # the one list of bibliographic words

    return is_bibliographic(question) or bool(_ASKS_REF.search(question))


def _and_where(where: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    if not where:
        return extra
    key = next(iter(extra))
    if key not in where:
        return {**where, **extra}
    # both restrict the same key: the values allowed by both
    allowed = [v for v in _values(extra[key]) if v in set(_values(where[key]))]
    return {**where, key: {"$in": allowed}}


def _values(cond: Any) -> list[Any]:
    if isinstance(cond, dict):
        return list(cond.get("$in", [cond.get("$eq")]))
    return [cond]


def _merge(items: list, extra: Iterable[tuple[str, float]]) -> list:
    """``items`` plus the pairs of ``extra`` it lacks, best first (both lists hold one retriever's scores)."""
    have = {cid for cid, _ in items}
    added = [(cid, s) for cid, s in extra if cid not in have]
    return sorted([*items, *added], key=lambda kv: -kv[1]) if added else items


def _position(items: list, key: str) -> tuple[int | None, float | None]:
    for rank, (k, s) in enumerate(items, start=1):
        if k == key:
            return rank, float(s)
    return None, None


def _check(query: str, mode: str) -> str:
    if mode not in MODES:
        raise MesochatError(f"Unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    if not isinstance(query, str) or not query.strip():
        raise MesochatError("The query is empty; type a question or some words to search for")
    return query.strip()
