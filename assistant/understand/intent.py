"""The learned intent layer: which attribute a question asks, as a calibrated distribution.

A multinomial logistic regression over the MiniLM embedding of the question with the records it names
masked ("what was the hazzard ratio in <trial>?"), trained by ``mesochat eval train-intent`` on the dev
pool's labelled questions plus the example askings each record field declares (corpus.models). The
weights are an artefact (``intent_model.npz`` beside this file) that records the hash of its training data;
that hash goes into every answer's provenance. Inference is numpy only.

Patterns stay features of the rule layer; this model speaks when they are silent, and below its threshold
it says nothing (the engine then gives the record's overview, never a guess).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).resolve().parent / "intent_model.npz"
# Masks name the kind of record, so "what did <drug> do in <trial>" keeps its shape across records.
MASKS = {"trial": "the trial", "agent": "the drug", "biomarker": "the biomarker", "mechanism": "the mechanism",
         "term": "the term", "ref": "the reference"}


# a runner-up below this share is noise, not a hesitation between two readings
SECOND_FLOOR = 0.15


@dataclass(frozen=True)
class Intent:
    """The predicted attribute distribution, best first; ``key`` is None below the threshold."""

    ranked: tuple[tuple[str, float], ...]
    threshold: float

    @property
    def key(self) -> str | None:
        return self.ranked[0][0] if self.ranked and self.ranked[0][1] >= self.threshold else None

    @property
    def confidence(self) -> float:
        return self.ranked[0][1] if self.ranked else 0.0

    @property
    def keys(self) -> list[str]:
        """The smallest set of the two best attributes whose probability reaches the threshold: one when the
        model is sure, both when it hesitates between two (each answered under its own label), none below."""
        if self.key is not None:
            return [self.key]
        top = [(k, p) for k, p in self.ranked[:2] if p >= SECOND_FLOOR and k != "headline"]
        return [k for k, _ in top] if len(top) == 2 and sum(p for _, p in top) >= self.threshold else []

    def to_dict(self) -> dict:
        return {"attribute": self.key, "attributes": self.keys, "top": [[k, round(p, 3)] for k, p in self.ranked[:3]], "threshold": self.threshold}


def mask(question: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """Replace each (start, end, record type) span with its kind's mask; overlapping spans keep the first."""
    out, at = [], 0
    for start, end, rtype in sorted(spans):
        if start < at:
            continue
        out.append(question[at:start])
        out.append(MASKS.get(rtype, "it"))
        at = end
    out.append(question[at:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


class IntentModel:
    """Weights, classes and threshold loaded from the artefact; ``predict(vector) -> Intent``."""

    def __init__(self, classes: Sequence[str], weights: np.ndarray, bias: np.ndarray, threshold: float,
                 data_hash: str, rule_features: Sequence[str] = ()) -> None:
        self.classes = list(classes)
        # The rule layer's attribute patterns are features, not decisions: one input per pattern key that fired.
        self.rule_features = list(rule_features)
        self.weights = np.asarray(weights, dtype=np.float32)  # (n_classes, dim)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.threshold = float(threshold)
        self.data_hash = data_hash

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> IntentModel | None:
        """The trained model, or None when no artefact exists (the rule layer then works alone)."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as z:
            rules = [str(c) for c in z["rule_features"]] if "rule_features" in z.files else []
            return cls([str(c) for c in z["classes"]], z["weights"], z["bias"], float(z["threshold"]),
                       str(z["data_hash"]), rules)

    def save(self, path: Path = MODEL_FILE) -> None:
        np.savez_compressed(path, classes=np.array(self.classes), weights=self.weights, bias=self.bias,
                            threshold=np.array(self.threshold), data_hash=np.array(self.data_hash),
                            rule_features=np.array(self.rule_features, dtype=str))

    def features(self, vector: np.ndarray, rule_keys: Sequence[str] = ()) -> np.ndarray:
        """The model's input: the question vector, then 1.0 for each rule pattern key that fired."""
        fired = np.array([1.0 if k in rule_keys else 0.0 for k in self.rule_features], dtype=np.float32)
        return np.concatenate([np.asarray(vector, dtype=np.float32).ravel(), fired])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = np.atleast_2d(vectors) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, vector: np.ndarray, allowed: Callable[[str], bool] | None = None,
                rule_keys: Sequence[str] = ()) -> Intent:
        """The distribution over the attributes ``allowed`` keeps (those the named records can hold), renormalised."""
        p = self.probabilities(self.features(vector, rule_keys) if self.rule_features else vector)[0]
        ranked = [(c, float(q)) for c, q in zip(self.classes, p, strict=True) if allowed is None or allowed(c)]
        total = sum(q for _, q in ranked) or 1.0
        ranked = sorted(((c, q / total) for c, q in ranked), key=lambda x: -x[1])
        return Intent(tuple(ranked), self.threshold)
