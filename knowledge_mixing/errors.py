"""Every error a user of knowledge mixing can see. Each message names the file, line, column,
setting or option at fault and says what to do, in one line."""
from __future__ import annotations


class MixingError(Exception):
    """An error the user can act on; its message is the whole story (no traceback needed)."""


class InputError(MixingError, ValueError):
    """An input cannot be mixed as it is: the message says where and what to do."""


class ParameterError(MixingError, ValueError):
    """A setting is out of range: the message names it and what it expects."""


class RecipeError(ParameterError):
    """A recipe key or value is wrong: the message names the key and the recipe's source."""


class TokenizerError(MixingError, RuntimeError):
    """The tokenizer cannot be used: the message says which one, why, and what to change."""


class LocalRunError(MixingError, RuntimeError):
    """A task of a local run failed: the message carries the task's own error line."""


class SubmitError(MixingError, RuntimeError):
    """A run could not be created on the server: the message says why and what to do."""


class OutputError(MixingError, OSError):
    """The output folder cannot take this run's files: the message says why and what to do."""


class WorkerDied(MixingError, RuntimeError):
    """A worker process was killed (by the system for memory, or by a signal)."""


class TaskProcessError(MixingError, RuntimeError):
    """A task's process ended without a Python error: killed (by the system when it ran out of
    memory, or by someone) or exited with a status of its own."""
