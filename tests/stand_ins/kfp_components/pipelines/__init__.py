"""Pipelines (not stood in)."""
