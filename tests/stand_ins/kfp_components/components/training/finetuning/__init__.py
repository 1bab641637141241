"""Finetuning training components."""
