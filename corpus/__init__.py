"""mesochat's corpus: the review (parsed from its captures) and typed, sourced records about it."""

from corpus.evidence import EvidenceRow, evidence_rows
from corpus.models import (
    AgentRecord,
    AnyRecord,
    Arm,
    BiomarkerRecord,
    MechanismRecord,
    Record,
    ReferenceRecord,
    Source,
    TermRecord,
    TrialRecord,
    TrialResult,
)
from corpus.records import Problem, load_records, validate_records
from corpus.review import Reference, Review, load_review

__all__ = [
    "AgentRecord",
    "AnyRecord",
    "Arm",
    "BiomarkerRecord",
    "EvidenceRow",
    "MechanismRecord",
    "Problem",
    "Record",
    "Reference",
    "ReferenceRecord",
    "Review",
    "Source",
    "TermRecord",
    "TrialRecord",
    "TrialResult",
    "evidence_rows",
    "forest_figure",
    "load_records",
    "load_review",
    "validate_records",
]


def __getattr__(name: str):
    """``corpus.forest_figure``: matplotlib is imported only when a figure is asked for."""
    if name in ("forest_figure", "plot_for_records"):
        from corpus import forest

        return getattr(forest, name)
    raise AttributeError(f"module 'corpus' has no attribute {name!r}")
