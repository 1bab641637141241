"""The helpers train_model embeds (embedded_artifact_path); not stood in."""
