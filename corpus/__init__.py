"""mesochat's corpus: the review (parsed from its captures) and typed, sourced records about it."""

from corpus.documents import Document, Section
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
    "Document",
    "MechanismRecord",
    "Problem",
    "Record",
    "Reference",
    "ReferenceRecord",
    "Review",
    "Section",
    "Source",
    "TermRecord",
    "TrialRecord",
    "TrialResult",
    "load_records",
    "load_review",
    "validate_records",
]
