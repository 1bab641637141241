"""LORA Training Component."""

from .component import train_model

__all__ = ["train_model"]
