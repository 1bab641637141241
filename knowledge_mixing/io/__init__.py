"""Shared input and output: JSON Lines streaming, Parquet batches, memory release, the worker
pool."""
