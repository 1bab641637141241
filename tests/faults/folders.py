"""What an output folder holds, and the check that it is one run's complete output."""
import hashlib
import json
from pathlib import Path

# The names on disk (knowledge_mixing/io/output_folder.py), spelled out so these checks also
# run against a version without that module.
LOCK_NAME = ".knowledge-mixing.lock"
STAGING_NAME = ".knowledge-mixing-staging"
WORK_NAME = ".knowledge-mixing-work"
JOURNAL_NAME = ".knowledge-mixing-commit.json"
SUMMARY_NAME = "summary.json"

TOOL_LEFTOVERS = (STAGING_NAME, WORK_NAME, JOURNAL_NAME)
"""What a finished run (or the next run's start) must not leave behind."""


def record(path: Path) -> dict:
    """A file's record as summary.json keeps it."""
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "rows": data.count(b"\n")}


def snapshot(folder: Path) -> dict[str, bytes]:
    """The output as its users see it: every regular file directly in `folder` but the tool's
    own dot files (lock, log, journal) → its bytes."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())
            if p.is_file() and not p.name.startswith(".")}


def check_complete(folder: Path) -> dict:
    """The folder holds one run's complete output: summary.json parses, and every file it
    records is there with that sha256, size and row count. Returns the summary."""
    folder = Path(folder)
    summary = json.loads((folder / SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary["files"], f"{folder}: summary.json records no file"
    for name, expected in summary["files"].items():
        path = folder / name
        assert path.is_file(), f"{path}: recorded in summary.json but missing"
        assert record(path) == expected, f"{path}: not the file summary.json records"
    return summary


def leftovers(folder: Path) -> list[str]:
    return [name for name in TOOL_LEFTOVERS if (Path(folder) / name).exists()]
