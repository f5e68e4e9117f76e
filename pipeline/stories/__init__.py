"""Stories: near-duplicate fingerprints, candidate lookup, clustering and story documents."""
