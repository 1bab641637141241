"""Read one recipe file as a run does (read_recipe_text, then apply_recipe) in a child process
the test limits in memory and time, so a recipe that expands does not take the test down.

    python read_recipe.py FILE

Prints {"seconds": s, "error": "<the RecipeError's message>" or null} as JSON.
"""
import json
import sys
import time
from pathlib import Path

from knowledge_mixing.errors import RecipeError
from knowledge_mixing.recipe import apply_recipe, read_recipe_text


def main(path: str) -> int:
    text = Path(path).read_text(encoding="utf-8")
    started = time.monotonic()
    try:
        apply_recipe(read_recipe_text(text, path), source=path)
        error = None
    except RecipeError as e:
        error = str(e)
    print(json.dumps({"seconds": time.monotonic() - started, "error": error}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
