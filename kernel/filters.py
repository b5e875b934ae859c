"""Metadata filters: one meaning for Chroma's ``where``, the BM25 mask and in-memory filtering.

A filter is ``{key: value}``, ``{key: {"$eq": value}}`` or ``{key: {"$in": [values]}}`` on the keys
below; several keys must all match. ``None`` stands for "no value" and matches chunks whose field is
empty (stored as "" in Chroma, whose metadata cannot hold None).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kernel.errors import MesochatError

FILTER_KEYS = ("source_type", "record_type", "record_id", "doc_id")


def normalize(where: dict[str, Any] | None) -> dict[str, list[Any]]:
    """``where`` as {key: allowed values}, validated; {} when there is no filter."""
    out: dict[str, list[Any]] = {}
    for key, cond in (where or {}).items():
        if key not in FILTER_KEYS:
            raise MesochatError(f"Cannot filter on {key!r}; use one of {', '.join(FILTER_KEYS)}")
        if isinstance(cond, dict):
            if set(cond) - {"$in", "$eq"} or len(cond) != 1:
                raise MesochatError(f"Unsupported filter {cond!r} on {key}; use a value or {{'$in': [...]}}")
            values = list(cond["$in"]) if "$in" in cond else [cond["$eq"]]
        else:
            values = [cond]
        out[key] = ["" if v is None else v for v in values]
    return out


def matches_nothing(where: dict[str, Any] | None) -> bool:
    """True when some key allows no value at all ({"$in": []})."""
    return any(not values for values in normalize(where).values())


def to_chroma(where: dict[str, Any] | None) -> dict[str, Any] | None:
    """The filter as a Chroma ``where`` clause (None: no filter)."""
    clauses = [
        {key: values[0] if len(values) == 1 else {"$in": values}} for key, values in normalize(where).items()
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(item: Any, where: dict[str, Any] | None) -> bool:
    """Whether an object with the filter keys as attributes (a Chunk) passes the filter."""
    for key, values in normalize(where).items():
        value = getattr(item, key)
        if ("" if value is None else value) not in values:
            return False
    return True


def mask(fields: dict[str, np.ndarray], where: dict[str, Any] | None) -> np.ndarray | None:
    """Boolean row mask over columns of string values (one array per key); None when there is no filter."""
    allowed = normalize(where)
    if not allowed:
        return None
    keep = np.ones(len(next(iter(fields.values()))), dtype=bool)
    for key, values in allowed.items():
        keep &= np.isin(fields[key], [str(v) for v in values])
    return keep
