"""Files and folders that appear under their name whole or not at all: written under a temporary
name beside it, renamed once complete, removed when the writing fails. A task that dies half-way
leaves no table, plan or tokenizer folder that a reader could take for a finished one."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def partial_name(path: Path) -> Path:
    """Where `path` is written until it is complete: hidden, beside it (the same file system, so
    the rename is atomic)."""
    return path.with_name(f".{path.name}.partial")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def written_whole(path: str | Path):
    """The temporary path to write `path` at (a file, or a folder the block makes): renamed to
    `path` when the block ends, removed if it raises. A folder replaces only an empty one."""
    path = Path(path)
    temporary = partial_name(path)
    _remove(temporary)  # left by a process that was killed
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)


def write_text_whole(path: str | Path, text: str) -> None:
    with written_whole(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
