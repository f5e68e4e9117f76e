"""Fetch and extract: the one SSRF-safe HTTP client, its errors, and main-text extraction."""
