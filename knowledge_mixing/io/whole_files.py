"""Files and folders that appear under their name whole or not at all: written under a temporary
name beside it, renamed once complete, removed when the writing fails. A task that fails half-way
leaves no table, plan or tokenizer folder that a reader could take for a finished one (one that
is killed leaves its hidden temporary file, which the next local run's clean-up removes)."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path


def partial_name(path: Path) -> Path:
    """Where this process writes `path` until it is complete: hidden, beside it (the same file
    system, so the rename is atomic), and its own (two processes writing one path do not take
    each other's)."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def left_partials(path: Path) -> list[Path]:
    """What processes that were killed while writing `path` left of it."""
    return sorted(path.parent.glob(f".{path.name}.*.partial"))


def remove(path: Path) -> None:
    """A temporary file or folder (a symlink is removed, never followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def written_whole(path: str | Path):
    """The temporary path to write `path` at (a file, or a folder the block makes): renamed to
    `path` when the block ends, removed if it raises. A symlink is written through (its target
    is replaced, keeping its permissions); a device or pipe (/dev/stdout) is written directly;
    a folder replaces only an empty one."""
    path = Path(os.path.realpath(path))
    try:
        existing = path.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and not (stat.S_ISREG(existing.st_mode)
                                     or stat.S_ISDIR(existing.st_mode)):
        yield path
        return
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder to write in", str(path))
    temporary = partial_name(path)
    remove(temporary)  # this process id's, left by a process that was killed
    try:
        yield temporary
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the error that stopped the writing is the one to see
            remove(temporary)
        raise


def write_text_whole(path: str | Path, text: str) -> None:
    with written_whole(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
