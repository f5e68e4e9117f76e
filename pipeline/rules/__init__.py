"""Watchlist rules: the query language and the texts it is matched against."""
