"""Sources: poll feeds and X, keep per-source state, canonicalise URLs."""
