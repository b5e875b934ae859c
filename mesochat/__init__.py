"""`mesochat` command line: the root app above all packages (kernel < corpus < indexing < assistant < ui)."""
