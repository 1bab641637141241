"""Logging of the stages: one timestamped line per step on stdout, where KFP and the local runner
collect logs; the line that sums up a task is marked as its progress line, which `run` shows."""
from __future__ import annotations

import logging

PROGRESS_MARK = "[progress] "
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, force=True)


def progress(logger: logging.Logger, message: str, *args) -> None:
    """The one line that sums up what a task did (counts and time)."""
    logger.info(PROGRESS_MARK + message, *args)
