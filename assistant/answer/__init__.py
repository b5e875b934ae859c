"""Answer from evidence: record fields, review prose, retrieved passages; composition and [n] markers."""
