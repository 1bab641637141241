"""Where the knowledge sets' files are: the step-03 folder (one sub-folder of JSON Lines files
per set) and/or one input per set (a JSONL file or a folder of them), every path checked
(docs/behaviour.md#input-the-generation-steps-output)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..sets import SET_NAMES
from .paths import exists_or_link, jsonl_files, resolve_input_path


def find_set_files(step03_dir: str | Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Map each present set folder to its JSONL files; also return the absent set names."""
    root = Path(step03_dir)
    if not exists_or_link(root) or not resolve_input_path(root, "step-03 input").is_dir():
        raise InputError(
            f"step-03 input {root} is not a directory: pass the generation step's output folder "
            f"(sub-folders {', '.join(SET_NAMES)})"
        )
    files: dict[str, list[Path]] = {}
    absent: list[str] = []
    for name in SET_NAMES:
        folder = root / name
        if not exists_or_link(folder):
            absent.append(name)
            continue
        if not resolve_input_path(folder, "set folder").is_dir():
            raise InputError(f"set folder {folder}: not a folder; the step-03 input holds one "
                             "folder of JSONL files per set")
        jsonl = jsonl_files(folder, f"set {name}:")
        if not jsonl:
            raise InputError(
                f"{folder}: the folder exists but holds no .jsonl file; remove the folder if the "
                f"{name} flow did not run, or re-run it"
            )
        files[name] = jsonl
    if not files:
        found = sorted(p.name for p in root.iterdir()) if root.exists() else []
        raise InputError(
            f"{root}: none of the set folders {', '.join(SET_NAMES)} is present "
            f"(found: {', '.join(found) or 'nothing'}); is this the step-03 artifact?"
        )
    return files, absent


def set_input_files(name: str, path: str | Path) -> list[Path]:
    """A per-set input (a generation task's Dataset): one JSONL file, or a folder of them."""
    path = Path(path)
    resolved = resolve_input_path(path, f"input `{name}`")
    if resolved.is_file():
        return [path]
    if resolved.is_dir():
        jsonl = jsonl_files(path, f"input `{name}`:")
        if not jsonl:
            raise InputError(f"input `{name}` ({path}): the folder holds no .jsonl file; give a "
                             "JSONL file or a folder of JSONL files")
        return jsonl
    raise InputError(f"input `{name}` ({path}): neither a file nor a folder")


def collect_sources(step03_dir: str | Path | None, set_inputs: dict[str, str | Path]
                    ) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Each set's JSONL files and where they came from, out of the step-03 folder and the per-set
    inputs; at least one must be given, and a set may come from one of them only."""
    unknown = sorted(set(set_inputs) - set(SET_NAMES))
    if unknown:
        raise InputError(f"input `{unknown[0]}` is not a knowledge set; per-set inputs are "
                         f"{', '.join(SET_NAMES)}")
    if step03_dir is None and not set_inputs:
        raise InputError("no input given: pass the step-03 folder (`step03`) or at least one "
                         f"per-set input ({', '.join(SET_NAMES)})")
    files, origins = {}, {}
    if step03_dir is not None:
        files, _ = find_set_files(step03_dir)
        origins = {name: f"folder {Path(step03_dir) / name}" for name in files}
    for name, path in set_inputs.items():
        if name in files:
            raise InputError(
                f"set {name} is given twice: as input `{name}` ({path}) and as the folder "
                f"{Path(step03_dir) / name} of the step-03 input; give it one way only")
        files[name] = set_input_files(name, path)
        origins[name] = f"input `{name}`"
    return files, origins
