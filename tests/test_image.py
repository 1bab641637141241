"""What can be checked of the image without a container engine."""
import re
import tomllib
from importlib.metadata import version

import pytest
import yaml
from helpers import REPO
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from components.image import IMAGE_REPOSITORY, _package_version

CONTAINERFILE = (REPO / "images" / "Containerfile").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = {
    Requirement(line).name.lower().replace("_", "-"): str(Requirement(line).specifier).lstrip("=")
    for line in (REPO / "images" / "requirements.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def instructions(keyword):
    return [line.split(None, 1)[1] for line in CONTAINERFILE.splitlines()
            if line.startswith(keyword + " ")]


def test_base_image_python_is_one_the_project_supports():
    base = re.search(r"ARG BASE_IMAGE=(\S+)", CONTAINERFILE).group(1)
    assert base.startswith("registry.access.redhat.com/ubi9/python-312")
    assert "3.12" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_it_installs_this_project_and_the_pinned_dependencies():
    runs = " ".join(instructions("RUN"))
    assert "pip install --no-cache-dir -r images/requirements.txt" in runs
    assert "pip install --no-cache-dir --no-deps ." in runs
    copied = " ".join(instructions("COPY"))
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        assert f"COPY {package.split('.')[0]} " in CONTAINERFILE
    assert "pyproject.toml" in copied


def test_the_lock_pins_every_runtime_dependency_within_its_range():
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        pinned = LOCK[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(pinned), f"{requirement} vs lock {pinned}"


@pytest.mark.parametrize("package", ["kfp", "kfp-kubernetes", "transformers", "tokenizers", "pyarrow"])
def test_this_environment_runs_what_the_image_runs(package):
    """The README installs with the lock as constraints: the SDK that compiles is the image's."""
    assert version(package) == LOCK[package]


def test_the_user_is_not_root_and_openshift_can_write_home():
    users = instructions("USER")
    assert users[-1].isdigit() and int(users[-1]) != 0
    assert "chgrp -R 0 /opt/app-root && chmod -R g=u /opt/app-root" in CONTAINERFILE
    assert "HF_HOME=/opt/app-root/src/.cache/huggingface" in CONTAINERFILE


@pytest.mark.parametrize("compiled", ["knowledge_mixing.yaml", "knowledge_mixing_disconnected.yaml"])
def test_every_task_of_the_uploaded_yaml_runs_the_image_and_the_entry_the_image_has(compiled):
    """The checked-in YAML (tests/launch/test_compile.py keeps it current) names this version's
    image, and starts every task with the image's Python and nothing installed."""
    image = f"{IMAGE_REPOSITORY}:{PYPROJECT['project']['version']}"
    assert _package_version() == PYPROJECT["project"]["version"]  # the default IMAGE's tag
    spec = next(yaml.safe_load_all((REPO / "compiled" / compiled).read_text()))
    executors = spec["deploymentSpec"]["executors"].values()
    assert [e for e in executors if "container" not in e] == [e for e in executors if "importer" in e]
    for executor in executors:
        if "container" not in executor:
            continue  # an importer
        container = executor["container"]
        assert container["image"] == image
        script = " ".join(container["command"])
        assert "python3 -m kfp.dsl.executor_main" in script and "pip" not in script
