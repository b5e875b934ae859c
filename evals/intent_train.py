"""Train and measure the learned intent layer (assistant.understand.intent) on the dev pool.

Training data: every dev-pool question labelled with an attribute (its origin kept), plus the example askings
the record schemas declare (corpus.models.attribute_vocabulary). Labels use the eval vocabulary
(``sample-size``); they are mapped to the engine's attribute keys (``sample_size``). Test sets are never read.

``held_out_report`` holds each dev origin out in turn, trains on the rest, and scores the classifier beside
the rule layer (the planner's first attribute) on the same held-out labels.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.dev_pool import PoolQuestion, dev_pool

# eval label -> engine attribute key (labels with no engine attribute, "other" and "prognosis", are not trained)
EVAL_TO_KEY = {
    "sample-size": "sample_size", "phase": "phase", "design": "design", "population": "population",
    "setting": "setting", "arms-doses": "arms", "primary-endpoint": "primary_endpoint", "os": "os", "pfs": "pfs",
    "orr": "orr", "dcr": "dcr", "survival-rate": "os_rate", "hazard-ratio": "hr", "safety": "safety",
    "registration": "registration", "publication": "publication", "class": "class", "target": "target",
    "mechanism": "mechanism", "biomarker-selection": "selection", "definition": "definition", "result": "headline",
    "approval": "approval", "quality-of-life": "qol", "median-age": "age", "duration-of-response": "duration_of_response",
    "5-year-survival": "os_rate", "centres": "sites", "dose": "dose", "cost": "cost", "half-life": "pk",
    "diagnostic-accuracy": "accuracy", "time-to-response": "time_to_response", "histology-breakdown": "histology_mix",
    "cut-off": "cutoff", "germline-testing": "germline", "manufacturing": "manufacturing",
    "infusion-time": "infusion_time", "assay": "assay",
}
# Keys that answer the same question for scoring ("what doses?" is answered by the arms and by the dose).
SAME = {"dose": "arms", "pfs_rate": "os_rate"}
_PROGRESSION = re.compile(r"progression|\bpfs\b", re.IGNORECASE)
C_VALUES = (16.0,)
VECTOR_CACHE = Path(tempfile.gettempdir()) / "mesochat-intent-vectors.npz"  # re-runs skip re-embedding
TARGET_PRECISION = 0.9  # the threshold keeps held-out predictions at least this precise


@dataclass(frozen=True)
class Example:
    text: str  # masked
    key: str
    origin: str
    fired: tuple[str, ...] = ()  # the rule layer's pattern keys that fired on the unmasked question


def engine_key(q: PoolQuestion) -> str | None:
    key = EVAL_TO_KEY.get(q.attribute or "")
    if key == "os_rate" and _PROGRESSION.search(q.question):
        return "pfs_rate"
    return key


def masked(analyzer: Any, question: str) -> str:
    from assistant.understand.intent import mask

    spans = [(m.start, m.end, m.record_id.partition(":")[0]) for m in analyzer.find_records(question)]
    return mask(question, spans)


def examples(analyzer: Any, pool: Sequence[PoolQuestion]) -> list[Example]:
    from assistant.understand.attributes import find_attributes
    from corpus.models import attribute_vocabulary

    def fired(text: str) -> tuple[str, ...]:
        return tuple(a.key for a in find_attributes(text))

    out = [Example(masked(analyzer, q.question), k, q.origin, fired(q.question)) for q in pool if (k := engine_key(q))]
    out += [Example(e, spec.key, "schema", fired(e)) for spec in attribute_vocabulary() for e in spec.examples]
    return out


def design(items: Sequence[Example], vectors: np.ndarray, rule_features: Sequence[str]) -> np.ndarray:
    """Question vectors with the rule layer's fired pattern keys appended (the model's input)."""
    fired = np.array([[1.0 if k in e.fired else 0.0 for k in rule_features] for e in items], dtype=np.float32)
    return np.hstack([vectors, fired])


def embed_cached(texts: list[str], progress: bool) -> np.ndarray:
    from indexing.embedder import embed_texts

    key = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    if VECTOR_CACHE.is_file():
        with np.load(VECTOR_CACHE) as z:
            if str(z["key"]) == key:
                return z["vectors"]
    vectors = embed_texts(texts, progress=progress, desc="Embedding dev questions")
    np.savez(VECTOR_CACHE, key=np.array(key), vectors=vectors)
    return vectors


def data_hash(items: Sequence[Example]) -> str:
    blob = json.dumps(sorted((e.text, e.key) for e in items), ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _fit(x: np.ndarray, y: list[str], c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=300, tol=1e-3).fit(x, y)


def _threshold(confidences: np.ndarray, correct: np.ndarray) -> float:
    """The lowest confidence above which held-out predictions are at least TARGET_PRECISION correct."""
    order = np.argsort(-confidences)
    hits = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.where(hits >= TARGET_PRECISION)[0]
    return float(confidences[order][ok[-1]]) if len(ok) else 1.0


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and SAME.get(a, a) == SAME.get(b or "", b)


def held_out(items: list[Example], vectors: np.ndarray, c: float,
             predictions: dict[int, tuple[str, float]] | None = None) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Per-origin accuracy with that origin held out; the pooled confidences and correctness. ``predictions``
    (if given) receives each held-out item's (predicted key, confidence) by its index in ``items``."""
    origins = sorted({e.origin for e in items} - {"schema"})
    acc, conf, correct = {}, [], []
    for origin in origins:
        test = [i for i, e in enumerate(items) if e.origin == origin]
        train = [i for i, e in enumerate(items) if e.origin != origin]
        model = _fit(vectors[train], [items[i].key for i in train], c)
        p = model.predict_proba(vectors[test])
        pred = model.classes_[p.argmax(axis=1)]
        ok = np.array([_same(pred[j], items[i].key) for j, i in enumerate(test)])
        if predictions is not None:
            predictions.update({i: (str(pred[j]), float(p[j].max())) for j, i in enumerate(test)})
        acc[origin] = float(ok.mean())
        conf.append(p.max(axis=1))
        correct.append(ok)
    return acc, np.concatenate(conf), np.concatenate(correct)


def override_table(items: list[Example], vectors: np.ndarray, c: float,
                   overrulable: set[str], thresholds: Sequence[float] = (0.4, 0.5, 0.6, 0.8)) -> dict[str, Any]:
    """Where the rules heard only words that may describe the record ("arms", "setting", the catch-all main
    result) and the held-out classifier disagrees at a confidence: how often each is right."""
    rows = []
    for origin in sorted({e.origin for e in items} - {"schema"}):
        test = [i for i, e in enumerate(items) if e.origin == origin]
        model = _fit(vectors[[i for i, e in enumerate(items) if e.origin != origin]],
                     [e.key for e in items if e.origin != origin], c)
        for row, i in zip(model.predict_proba(vectors[test]), test, strict=True):
            fired = items[i].fired
            if fired and set(fired) <= overrulable:
                k = int(np.argmax(row))
                rows.append((float(row[k]), str(model.classes_[k]), fired[0], items[i].key))
    out = {}
    for t in thresholds:
        over = [r for r in rows if r[0] >= t and r[1] != r[2]]
        out[str(t)] = {"overrides": len(over), "classifier_right": sum(_same(r[1], r[3]) for r in over),
                       "rules_right": sum(_same(r[2], r[3]) for r in over)}
    return out


def rule_accuracy(planner: Any, pool: Sequence[PoolQuestion]) -> dict[str, float]:
    """The rule layer's first attribute against the same labels, per origin (conversation turns carry context)."""
    hits: dict[str, list[bool]] = {}
    previous = None
    for q in pool:
        key = engine_key(q)
        plan = planner.plan(q.question, previous if q.previous else None)
        previous = plan
        if key:
            hits.setdefault(q.origin, []).append(_same(plan.attribute, key))
    return {o: float(np.mean(v)) for o, v in sorted(hits.items())}


def train(progress: bool = True) -> dict[str, Any]:
    """Fit on everything, pick C and the threshold on held-out origins, save the artefact; return the report."""
    from assistant.understand.attributes import ATTRIBUTES
    from assistant.understand.intent import IntentModel
    from assistant.understand.plan import Planner
    from assistant.understand.query import QueryAnalyzer
    from indexing.sources import corpus_documents

    analyzer = QueryAnalyzer.from_corpus()
    pool = dev_pool()
    items = examples(analyzer, pool)
    rule_features = [a.key for a in ATTRIBUTES]
    vectors = design(items, embed_cached([e.text for e in items], progress), rule_features)
    runs = {}
    for c in C_VALUES:
        if progress:
            print(f"holding out each of {len({e.origin for e in items}) - 1} origins, C={c} ...", flush=True)
        runs[c] = held_out(items, vectors, c)
    best = max(runs, key=lambda c: np.mean(list(runs[c][0].values())))
    acc, conf, correct = runs[best]
    threshold = _threshold(conf, correct)
    final = _fit(vectors, [e.key for e in items], best)
    model = IntentModel(list(final.classes_), final.coef_, final.intercept_, threshold, data_hash(items), rule_features)
    model.save()
    from assistant.understand.pipeline import OVERRULABLE

    overrides = override_table(items, vectors, best, OVERRULABLE)
    planner = Planner(analyzer, " ".join(d.text for d in corpus_documents()))
    rules = rule_accuracy(planner, pool)
    accepted = conf >= threshold
    return {
        "examples": len(items), "classes": len(model.classes), "C": best, "threshold": round(threshold, 3),
        "data_hash": model.data_hash,
        "held_out_accuracy": {o: round(a, 3) for o, a in acc.items()},
        "held_out_mean": round(float(np.mean(list(acc.values()))), 3),
        "rule_accuracy": {o: round(a, 3) for o, a in rules.items()},
        "rule_mean": round(float(np.mean(list(rules.values()))), 3),
        "overrides_held_out": overrides,
        "above_threshold": {"share": round(float(accepted.mean()), 3),
                            "precision": round(float(correct[accepted].mean()) if accepted.any() else 0.0, 3)},
    }
