"""Local tooling: the development Elasticsearch node, the long-running stack, the demo, the bench command."""
