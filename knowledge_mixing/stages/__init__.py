"""The stage bodies behind the KFP components, one module each: plain paths and values in,
files and a `Measured` out (docs/architecture.md)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Measured:
    """What a stage measured: metadata per output artifact (keyed by the component's output
    name) and the numbers shown as KFP Metrics."""

    metadata: dict[str, dict]
    metrics: dict[str, float] = field(default_factory=dict)

    def publish(self, metrics=None, **artifacts) -> None:
        """The one way a component shows it: the metadata onto the output artifacts passed by
        their output names, the numbers onto the `metrics` output (KFP objects, duck-typed here:
        this package never imports kfp)."""
        for name, artifact in artifacts.items():
            artifact.metadata.update(self.metadata[name])
        if metrics is not None:
            for key, value in self.metrics.items():
                metrics.log_metric(key, value)
