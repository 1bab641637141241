"""A child process that stages one file into an OutputFolder (under whatever file-size limit its
parent set) and reports how that went.

    python stage_driver.py FOLDER NAME SOURCE

Prints the OutputError's message and exits 3 when staging fails with one; exits 0 when it
worked; anything else (another exception) is a traceback and exit 1.
"""
import sys
from pathlib import Path

from knowledge_mixing.errors import OutputError
from knowledge_mixing.io.output_folder import OutputFolder


def main(folder: str, name: str, source: str) -> int:
    with OutputFolder(Path(folder)) as out:
        try:
            out.stage(name, Path(source))
        except OutputError as e:
            print(e)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
