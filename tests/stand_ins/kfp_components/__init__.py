"""Stand-in for red-hat-data-services/pipelines-components at dd8d0c0 (kfp-components 1.11.0):
the package layout as installed."""
from . import components, pipelines

__all__ = ["components", "pipelines"]
