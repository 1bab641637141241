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
    """Every instruction of that keyword, its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", CONTAINERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.startswith(keyword + " ")]


def test_base_image_is_a_pinned_ubi9_python_312_release():
    base = re.search(r"ARG BASE_IMAGE=(\S+)", CONTAINERFILE).group(1)
    repository, tag = base.rsplit(":", 1)
    assert repository == "registry.access.redhat.com/ubi9/python-312"
    assert re.fullmatch(r"9\.\d+", tag), f"{base}: pin a UBI 9 minor release, not {tag!r}"
    assert "3.12" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_it_installs_this_project_and_the_pinned_dependencies():
    runs = " ".join(instructions("RUN"))
    assert "pip install --no-cache-dir -r knowledge-mixing/images/requirements.txt" in runs
    assert "pip install --no-cache-dir --no-deps ./knowledge-mixing" in runs
    copied = " ".join(instructions("COPY"))
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        top = package.split(".")[0]
        assert f" {top} knowledge-mixing/{top}" in copied
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
    assert instructions("USER") == ["1001"]  # the base image's user, group 0; never root
    assert all(c.startswith("--chown=1001:0 ") for c in instructions("COPY"))
    assert "HF_HOME=/opt/app-root/src/.cache/huggingface" in CONTAINERFILE
    assert "mkdir -p /opt/app-root/src/.cache/huggingface" in " ".join(instructions("RUN"))


def test_permissions_are_set_in_the_step_that_writes_the_files():
    """A recursive chmod/chgrp in a later layer copies every file it touches (site-packages:
    about 640 MB) into that layer; `fix-permissions` in the same RUN changes only what it
    wrote."""
    runs = instructions("RUN")
    assert len(runs) == 2
    for run in runs:
        assert run.endswith("&& fix-permissions /opt/app-root -P"), run
    assert not re.search(r"\bch(mod|grp|own) -R\b", CONTAINERFILE)


def test_openshift_builds_it_from_this_folder_into_an_image_stream():
    stream = yaml.safe_load((REPO / "images" / "imagestream.yaml").read_text())
    build = yaml.safe_load((REPO / "images" / "buildconfig.yaml").read_text())
    assert (stream["kind"], stream["metadata"]["name"]) == ("ImageStream", "knowledge-mixing")
    assert build["kind"] == "BuildConfig" and build["metadata"]["name"] == "knowledge-mixing"
    assert build["spec"]["source"] == {"type": "Binary"}
    assert build["spec"]["strategy"] == {"type": "Docker", "dockerStrategy": {
        "dockerfilePath": "images/Containerfile"}}
    assert build["spec"]["output"]["to"] == {
        "kind": "ImageStreamTag", "name": f"knowledge-mixing:{PYPROJECT['project']['version']}"}
    readme = (REPO / "README.md").read_text()
    for step in ("oc apply -f images/", "oc start-build knowledge-mixing --from-dir . --follow",
                 "python pipeline.py compile --image image-registry.openshift-image-registry.svc"
                 ":5000/<project>/knowledge-mixing:<version>"):
        assert step in readme


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
