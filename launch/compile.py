"""Compiling a pipeline to the YAML users upload, pointed at the image they name, and what that
YAML needs of the cluster."""
import re
import tempfile
from pathlib import Path

import yaml
from kfp import compiler

from components.image import IMAGE
from knowledge_mixing.errors import OutputError
from knowledge_mixing.io.whole_files import write_text_whole

from .plugins import task_config_fields


def compile_pipeline(pipeline, package_path, image: str = IMAGE) -> None:
    """Compile (making the file's folder if needed; the file appears whole); with another image,
    point every task of ours at it (the SDK and the image are released together, so only the
    registry or tag should differ)."""
    try:
        Path(package_path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"-o {package_path}: cannot make its folder ({e.strerror})") from e
    with tempfile.TemporaryDirectory() as work:  # the compiler writes by the name's suffix
        compiled = Path(work) / Path(package_path).name
        compiler.Compiler().compile(pipeline, str(compiled))
        text = compiled.read_text(encoding="utf-8")
    if image != IMAGE:
        text, count = re.subn(rf"(\bimage: ){re.escape(IMAGE)}$", rf"\g<1>{image}", text,
                              flags=re.MULTILINE)
        assert count, f"no task uses {IMAGE}"
    write_text_whole(package_path, text)


OLDEST_PLATFORM = "OpenShift AI 2.22"
"""The oldest release whose pipelines backend runs the mixing stage (its `dsl.Collected` fan-in
was backported there from KFP 2.14)."""
WORKSPACE_PLATFORM = "OpenShift AI 3.0"
"""The first release whose backend has workspaces and TaskConfig, and honours optional secrets
(before it, a task naming a missing optional secret never starts)."""


def compiled_documents(package_path) -> tuple[dict, dict]:
    """The pipeline spec and the Kubernetes platform spec ({} without one) of a compiled file."""
    documents = list(yaml.safe_load_all(Path(package_path).read_text(encoding="utf-8")))
    platform = documents[1]["platforms"]["kubernetes"] if len(documents) > 1 else {}
    return documents[0], platform


def secrets_of(platform: dict, optional: bool) -> dict:
    """Secret name → the keys the tasks read from it, for the secrets that are (not) optional."""
    secrets = {}
    for executor in platform.get("deploymentSpec", {}).get("executors", {}).values():
        for secret in executor.get("secretAsEnv", []):
            if bool(secret.get("optional")) == optional:
                keys = secrets.setdefault(secret["secretName"], [])
                keys += [k["secretKey"] for k in secret["keyToEnv"] if k["secretKey"] not in keys]
    return secrets


def newer_platform_features(package_path) -> list:
    """What in a compiled pipeline needs OpenShift AI 3.0 or later; empty: it runs on 2.22."""
    spec, platform = compiled_documents(package_path)
    features = []
    if platform.get("pipelineConfig", {}).get("workspace"):
        features.append("a workspace")
    if task_config_fields([spec]):
        features.append("TaskConfig")
    optional = secrets_of(platform, optional=True)
    if optional:
        features.append(f"optional secrets ({', '.join(optional)})")
    return features


def describe_compiled(package_path) -> list:
    """What `compile` says about a compiled pipeline: where it runs, what to create first."""
    features = newer_platform_features(package_path)
    lines = [f"platform: {WORKSPACE_PLATFORM} or later (it uses {', '.join(features)})"
             if features else f"platform: {OLDEST_PLATFORM} or later"]
    required = secrets_of(compiled_documents(package_path)[1], optional=False)
    if required:
        lines.append("create first: " + "; ".join(
            f"secret {name} ({', '.join(keys)})" for name, keys in required.items()))
    return lines
