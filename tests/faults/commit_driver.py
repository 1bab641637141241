"""A child process that commits an OutputFolder and stops at a chosen point of the write.

    python commit_driver.py FOLDER SOURCES MODE K [REPORT]

FOLDER   the output folder (it may hold an earlier run's output)
SOURCES  a folder of *.jsonl files: this "run"'s new output, staged and committed by name
MODE     kill       os._exit(9) at the K-th os.replace (0: before the first one); K past the
                    last one: the commit completes (exit 0)
         interrupt  KeyboardInterrupt at the K-th os.replace, as Ctrl-C / SIGTERM arriving
                    there would raise it (the `with` block unwinds, its clean-up runs)
         stage      os._exit(9) after K blocks of the staging copy (a half-staged file)
         recover    no new output: only open the folder (the next run's recovery), with
                    os._exit(9) at the K-th os.replace
REPORT   a JSON file written just before the stop: {"journal": bool, "renames": n}
Exit status: 9 when stopped by a kill, 130 after an interrupt, 0 when the commit completed.
"""
import json
import os
import sys
from pathlib import Path

from knowledge_mixing.io import output_folder
from knowledge_mixing.io.output_folder import JOURNAL_NAME, OutputFolder

STAGE_BLOCK = 10_000
"""Bytes per block of the staging copy: larger than the file buffer, so a block is on disk."""


def main(folder: str, sources: str, mode: str, k: str, report: str = "") -> int:
    folder, stop_at = Path(folder), int(k)
    state = {"renames": 0, "blocks": 0}

    def record() -> None:
        if report:
            Path(report).write_text(json.dumps({
                "journal": (folder / JOURNAL_NAME).exists(), "renames": state["renames"]}))

    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if mode in ("kill", "interrupt", "recover") and state["renames"] == stop_at:
            record()
            if mode == "interrupt":
                raise KeyboardInterrupt
            os._exit(9)
        real_replace(source, target, *args, **kwargs)
        state["renames"] += 1

    real_sha256 = output_folder.hashlib.sha256

    class CountingHash:
        """sha256 whose update() comes after each block's write: stop there."""

        def __init__(self):
            self._hash = real_sha256()

        def update(self, block: bytes) -> None:
            if mode == "stage" and state["blocks"] == stop_at:
                record()
                os._exit(9)
            state["blocks"] += 1
            self._hash.update(block)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    class Hashlib:
        sha256 = CountingHash

    os.replace = replace
    output_folder.hashlib = Hashlib
    output_folder.COPY_BLOCK = STAGE_BLOCK
    try:
        with OutputFolder(folder) as out:
            if mode == "recover":
                return 0
            for source in sorted(Path(sources).glob("*.jsonl")):
                out.stage(source.name, source)
            out.commit({"run": "new"})
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
