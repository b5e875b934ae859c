"""mesochat's corpus: the review (parsed from its captures) and typed, sourced records about it."""

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
    "load_records",
    "load_review",
    "validate_records",
]
