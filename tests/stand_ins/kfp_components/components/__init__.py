from . import data_processing, deployment, evaluation, training

__all__ = ["data_processing", "deployment", "evaluation", "training"]
