"""Compiling a pipeline to the YAML users upload, pointed at the image they name."""
import re
from pathlib import Path

from kfp import compiler

from components.image import IMAGE


def compile_pipeline(pipeline, package_path: str, image: str = IMAGE) -> None:
    """Compile; with another image, point every task of ours at it (the SDK and the image are
    released together, so only the registry or tag should differ)."""
    compiler.Compiler().compile(pipeline, package_path)
    if image != IMAGE:
        text = Path(package_path).read_text()
        retargeted, count = re.subn(rf"(\bimage: ){re.escape(IMAGE)}$", rf"\g<1>{image}", text,
                                    flags=re.MULTILINE)
        assert count, f"no task uses {IMAGE}"
        Path(package_path).write_text(retargeted)
