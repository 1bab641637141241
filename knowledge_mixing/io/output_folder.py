"""The output folder as a transaction (docs/behaviour.md#outputs).

A run takes a lock on the folder, writes every new file into a staging folder inside it (synced
to disk), then commits: a journal names the renames, the files are renamed into place, files an
earlier run recorded and this one did not write are removed, and `summary.json` comes last. A
run that dies before the journal leaves the previous output as it was; one that dies after it is
rolled forward by the next run, which finds the journal first. Files this tool did not record
are never touched.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from ..errors import OutputError
from .whole_files import left_partials, remove, written_whole

LOCK_NAME = ".knowledge-mixing.lock"
STAGING_NAME = ".knowledge-mixing-staging"
JOURNAL_NAME = ".knowledge-mixing-commit.json"
WORK_NAME = ".knowledge-mixing-work"
SUMMARY_NAME = "summary.json"
COPY_BLOCK = 1 << 20
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, data: bytes) -> None:
    """`data` under `path`, complete or not at all, and synced to disk with its folder."""
    with written_whole(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    _fsync_folder(path.parent)


def _recorded_name(name) -> bool:
    """A name this tool writes: a plain file name in the folder (a summary.json edited by hand
    must not make a run delete files elsewhere)."""
    return isinstance(name, str) and bool(name) and Path(name).name == name \
        and not name.startswith(".") and name not in (".", "..")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_output_location(output: Path, inputs: list[Path]) -> None:
    """Before any work: the output is a folder (or can be made one) we may write, and it is
    neither an input nor inside one, nor does it hold one."""
    output = output.expanduser()
    if output.exists() and not output.is_dir():
        raise OutputError(f"--output {output}: is a file, not a folder; choose a folder")
    resolved = output.resolve()
    for given in inputs:
        source = given.expanduser().resolve()
        folder = source if source.is_dir() else source.parent
        if resolved == folder or folder in resolved.parents:
            raise OutputError(f"--output {output}: is inside the input {given}; the next run "
                              "would read its own output: choose a folder outside the inputs")
        if resolved in source.parents:
            raise OutputError(f"--output {output}: holds the input {given}; choose a folder "
                              "that does not contain the inputs")
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as e:
        raise OutputError(f"--output {output}: cannot be written ({e.strerror}); choose a folder "
                          "you can write") from e


class OutputFolder:
    """A run's output folder, locked for the run (`with OutputFolder(path) as folder:`)."""

    def __init__(self, path: Path):
        self.path = Path(path).expanduser()
        self.staging = self.path / STAGING_NAME
        self.work_root = self.path / WORK_NAME
        self.staged: dict[str, dict] = {}
        self._lock = None

    # ---------------------------------------------------------------- lock and recovery

    def __enter__(self) -> "OutputFolder":
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / LOCK_NAME, "a+")
        except OSError as e:
            raise OutputError(f"--output {self.path}: cannot be used ({e.strerror}); choose a "
                              "folder you can write") from e
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise OutputError(f"--output {self.path}: in use by another run ({holder}); wait for "
                              "it to finish or choose another --output") from None
        lock.seek(0)
        previous = lock.read().strip()
        self.taken_over = previous if previous and not self._holder_alive(previous) else ""
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} on {socket.gethostname()}, started "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        lock.flush()
        self._lock = lock
        self.recover()
        shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.work_root, ignore_errors=True)  # left by a run that was killed
        for left in left_partials(self.path / JOURNAL_NAME):
            remove(left)
        return self

    @staticmethod
    def _holder_alive(holder: str) -> bool:
        words = holder.split()
        return len(words) > 1 and words[0] == "pid" and words[1].isdigit() and \
            _process_alive(int(words[1]))

    def __exit__(self, *exc) -> None:
        if (self.path / JOURNAL_NAME).exists():  # interrupted after the commit point: finish
            self.recover()
        shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.work_root, ignore_errors=True)
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def work_folder(self) -> Path:
        """Where this run keeps its intermediate files: inside the output folder, so a run that
        is killed leaves them where the next run cleans them up."""
        folder = self.work_root / str(os.getpid())
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def recover(self) -> list[str]:
        """Finish a commit a killed run had started (its journal is on disk): the renames that
        had not happened, the removals. Returns the files renamed."""
        journal_path = self.path / JOURNAL_NAME
        if not journal_path.exists():
            return []
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
        renamed = []
        for name in filter(_recorded_name, journal["rename"]):
            staged = self.staging / name
            if staged.exists():
                os.replace(staged, self.path / name)
                renamed.append(name)
        for name in filter(_recorded_name, journal["remove"]):
            (self.path / name).unlink(missing_ok=True)
        _fsync_folder(self.path)
        journal_path.unlink()
        _fsync_folder(self.path)
        return renamed

    # ---------------------------------------------------------------- staging and commit

    def previous_files(self) -> dict[str, dict]:
        """The files the last complete run recorded in its summary.json."""
        try:
            summary = json.loads((self.path / SUMMARY_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = summary.get("files") if isinstance(summary, dict) else None
        return {name: record for name, record in files.items() if _recorded_name(name)} \
            if isinstance(files, dict) else {}

    def stage(self, name: str, source: Path, record: dict | None = None) -> dict:
        """Put `source` into the staging folder as `name`, synced: a second name for the same
        file where it is on this disk already (the run's work folder is), else a copy; return its
        record (sha256, bytes, rows). `record` is what the writer measured of `source`: a second
        name holds the same bytes, so it is not read again; a copy is measured as it is made.
        A full disk stops here, with the previous output untouched."""
        self.staging.mkdir(exist_ok=True)
        target = self.staging / name
        try:
            try:
                os.link(source, target)
                linked = True
            except OSError:  # another file system, or one without hard links: copy
                linked = False
            if linked and record is not None:
                with open(target, "rb") as staged:
                    os.fsync(staged.fileno())
                measured = {key: record[key] for key in ("sha256", "bytes", "rows")}
                measured["bytes"], measured["rows"] = int(measured["bytes"]), int(measured["rows"])
            else:
                measured = self._copied(source, target, linked)
        except OSError as e:
            raise self._write_error(e, name) from e
        self.staged[name] = measured
        return measured

    @staticmethod
    def _copied(source: Path, target: Path, linked: bool) -> dict:
        """The record of `target`, read as it is copied from `source` (or, already linked,
        read once), synced."""
        digest, size, rows = hashlib.sha256(), 0, 0
        with open(source, "rb") as reader, open(target, "rb" if linked else "wb") as staged:
            while block := reader.read(COPY_BLOCK):
                if not linked:
                    staged.write(block)
                digest.update(block)
                size += len(block)
                rows += block.count(b"\n")
            staged.flush()
            os.fsync(staged.fileno())
        return {"sha256": digest.hexdigest(), "bytes": size, "rows": rows}

    def _write_error(self, error: OSError, name: str) -> OutputError:
        if error.errno in DISK_FULL:
            free = shutil.disk_usage(self.path).free
            return OutputError(
                f"--output {self.path}: no space left while writing {name} ({free / 1e6:,.0f} MB "
                "free); free some space or choose another --output. The previous output is "
                "untouched")
        return OutputError(f"--output {self.path}: cannot write {name} ({error.strerror}); the "
                           "previous output is untouched")

    def commit(self, summary: dict) -> dict:
        """Put the staged files and `summary` (with the record of every file it describes) in
        place, and remove what the previous run recorded that this one did not write. Returns
        the summary as written."""
        summary = {**summary, "files": dict(self.staged)}
        writing = SUMMARY_NAME
        try:
            write_durably(self.staging / SUMMARY_NAME,
                          (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
            _fsync_folder(self.staging)
            stale = sorted(set(self.previous_files()) - set(self.staged))
            writing = JOURNAL_NAME
            write_durably(self.path / JOURNAL_NAME, json.dumps(
                {"rename": [*self.staged, SUMMARY_NAME], "remove": stale}).encode("utf-8"))
        except OSError as e:
            (self.path / JOURNAL_NAME).unlink(missing_ok=True)
            raise self._write_error(e, writing) from e
        self.recover()
        self.staged = {}
        return summary
