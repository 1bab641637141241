"""Input paths with their symlinks resolved, and the JSON Lines files of a folder."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import InputError


def resolve_input_path(path: Path, name: str) -> Path:
    """An input path with its symlinks resolved: a dangling link or a loop is an error naming it."""
    try:
        resolved = path.expanduser().resolve(strict=True)
    except FileNotFoundError as e:
        raise InputError(f"{name} {path}: no such file or folder"
                         + (" (a symlink to a missing target)" if path.is_symlink() else "")) from e
    except RuntimeError as e:  # Python's resolve reports a symlink loop so
        raise InputError(f"{name} {path}: a symlink loop; point it at a real file or folder") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{name} {path}: a symlink loop; point it at a real file or "
                             "folder") from e
        raise InputError(f"{name} {path}: cannot be read ({e.strerror})") from e
    return resolved


def jsonl_files(folder: Path, name: str) -> list[Path]:
    """The `*.jsonl` files of a folder, in name order, each checked: a symlink to nothing, a
    symlink loop or a `.jsonl` that is not a file is an error, never silently skipped."""
    files = []
    for path in sorted(folder.glob("*.jsonl")):
        target = resolve_input_path(path, name)
        if not target.is_file():
            raise InputError(f"{name} {path}: not a file; a set folder holds JSONL files")
        files.append(path)
    return files


def exists_or_link(path: Path) -> bool:
    """True for anything at `path`, a broken symlink included."""
    return os.path.lexists(path)
