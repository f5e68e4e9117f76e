"""The Elasticsearch store: client, versioned indices, item writes, quarantine, reindex."""
