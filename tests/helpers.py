"""Helpers shared by the tests (test files never import each other)."""
import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_STEP_03 = REPO / "examples" / "step_03"

_spec = importlib.util.spec_from_file_location("make_step_03", REPO / "examples" / "make_step_03.py")
make_step_03 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_step_03)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path
