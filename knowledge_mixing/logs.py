"""Logging of the stages: one timestamped line per step on stdout, where KFP and the local runner
collect logs."""
from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
