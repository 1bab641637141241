"""Compiling a pipeline to the YAML users upload, pointed at the image they name."""
import re
from pathlib import Path

from kfp import compiler

from components.image import IMAGE
from knowledge_mixing.errors import OutputError


def compile_pipeline(pipeline, package_path, image: str = IMAGE) -> None:
    """Compile (making the file's folder if needed); with another image, point every task of
    ours at it (the SDK and the image are released together, so only the registry or tag should
    differ)."""
    try:
        Path(package_path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"-o {package_path}: cannot make its folder ({e.strerror})") from e
    compiler.Compiler().compile(pipeline, str(package_path))
    if image != IMAGE:
        text = Path(package_path).read_text()
        retargeted, count = re.subn(rf"(\bimage: ){re.escape(IMAGE)}$", rf"\g<1>{image}", text,
                                    flags=re.MULTILINE)
        assert count, f"no task uses {IMAGE}"
        Path(package_path).write_text(retargeted)
