"""What every layer shares: the error type, documents and chunks, text analysis, filters, config.

Imports nothing from the other mesochat packages (kernel < corpus < indexing < assistant < ui).
"""
