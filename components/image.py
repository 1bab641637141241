"""The one image every component runs in, and the decorator settings they share.

The image bakes in this project and its pinned dependencies, so nothing is installed when a task
starts; the same definition runs in the KFP local runner (which uses the installed package).
"""
import os
from importlib.metadata import PackageNotFoundError, version

IMAGE_ENV = "KNOWLEDGE_MIXING_IMAGE"
IMAGE_REPOSITORY = "quay.io/opendatahub/knowledge-mixing"


def _package_version() -> str:
    try:
        return version("knowledge-mixing")
    except PackageNotFoundError:  # a source checkout that was not pip-installed
        return "latest"


IMAGE = os.environ.get(IMAGE_ENV) or f"{IMAGE_REPOSITORY}:{_package_version()}"

COMPONENT_SETTINGS = {"base_image": IMAGE, "install_kfp_package": False}
"""`@dsl.component(**COMPONENT_SETTINGS)`: our image, no pip install at task start."""
