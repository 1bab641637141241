"""`Measured`: what a stage returns, and how a component publishes it onto KFP artifacts."""
from kfp import dsl

from knowledge_mixing.stages import Measured


def test_publish_puts_metadata_on_the_named_outputs_and_numbers_on_the_metrics(tmp_path):
    mixed = dsl.Dataset(name="mixed", uri=str(tmp_path / "mixed"), metadata={"kept": 1})
    validation = dsl.Dataset(name="validation", uri=str(tmp_path / "validation"))
    metrics = dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics"))
    measured = Measured({"mixed": {"cut": 5, "samples": 3}, "validation": {"samples": 0}},
                        {"samples": 3, "tokens": 120})
    measured.publish(metrics, mixed=mixed, validation=validation)
    assert mixed.metadata == {"kept": 1, "cut": 5, "samples": 3}
    assert validation.metadata == {"samples": 0}
    assert metrics.metadata == {"samples": 3, "tokens": 120}


def test_publish_without_metrics():
    artifact = dsl.Artifact(name="plan", uri="/x")
    Measured({"plan": {"shards": 1}}).publish(plan=artifact)
    assert artifact.metadata == {"shards": 1}
