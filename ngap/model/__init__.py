"""Typed domain model and the knowledge-base data (codes, dated tariffs, sources, rules)."""
