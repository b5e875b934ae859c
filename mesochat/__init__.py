"""The `mesochat` command line: the root app above every package (kernel < corpus < indexing < assistant < ui)."""
