"""Plug-in steps: the generation and training components we wire but do not own, from the
installed kfp-components package (`auto`) or from a compiled component YAML file."""
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Optional

import pytest
from helpers import REPO
from standins import (
    compile_to,
    generate_flow,
    generate_step03,
    read_spec,
    record_training,
    train_on_workspace,
)

from knowledge_mixing.errors import ParameterError
from launch.cli import main
from launch.plugins import generation_step, training_step

NOT_INSTALLED = importlib.util.find_spec("kfp_components") is None


def parameters(step) -> dict:
    return {p.name: (p.component_input, p.annotation, p.default) for p in step.parameters}


def test_training_component_from_yaml_takes_the_cut_and_brings_its_parameters(tmp_path):
    path = compile_to(record_training, tmp_path / "training.yaml")
    step = training_step(str(path))
    assert step.wired_input == "dataset" and not step.takes_workspace_path
    assert step.description == f"training component from {path}"
    assert parameters(step) == {
        "training_record_to": ("record_to", str, inspect.Parameter.empty),
        "training_base_model": ("training_base_model", str, "Qwen/Qwen2.5-1.5B-Instruct"),
        "training_num_epochs": ("training_num_epochs", int, 1),
    }


def test_training_component_with_pvc_path_takes_the_workspace(tmp_path):
    step = training_step(str(compile_to(train_on_workspace, tmp_path / "training.yaml")))
    assert step.takes_workspace_path and step.wired_input == "dataset"
    assert parameters(step) == {
        "training_learning_rate": ("training_learning_rate", Optional[float], None)}


def test_training_component_without_a_dataset_input_is_refused(tmp_path):
    not_training = compile_to(generate_step03, tmp_path / "generation.yaml")
    with pytest.raises(ParameterError, match="needs one Dataset input"):
        training_step(str(not_training))


def test_generation_component_with_one_artifact_output_gives_the_folder(tmp_path):
    step = generation_step(str(compile_to(generate_step03, tmp_path / "generation.yaml")))
    assert not step.per_flow and step.wired_output == "step03"
    assert parameters(step) == {
        "generation_source_folder": ("source_folder", str, inspect.Parameter.empty),
        "generation_flows": ("flows", int, 4)}


def test_generation_component_with_flow_id_runs_per_flow(tmp_path):
    step = generation_step(str(compile_to(generate_flow, tmp_path / "generation.yaml")))
    assert step.per_flow and step.wired_output == "output_artifact"  # its Metrics are a report
    assert sorted(parameters(step)) == [
        "generation_max_concurrency", "generation_model", "generation_source_folder"]


def test_required_input_the_pipeline_cannot_feed_is_named(tmp_path):
    with pytest.raises(ParameterError, match="required input 'dataset' of type system.Dataset"):
        generation_step(str(compile_to(record_training, tmp_path / "training.yaml")))


@pytest.mark.parametrize("step", [training_step, generation_step])
@pytest.mark.parametrize("content,message", [
    (None, "no such component YAML file"),
    ("just: text\n", "not a KFP component YAML file"),
])
def test_bad_plug_in_files_are_named(tmp_path, step, content, message):
    path = tmp_path / "component.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ParameterError, match=f"^{path}: {message}"):
        step(str(path))


def test_none_means_no_step():
    assert training_step("none") is None and generation_step("none") is None


@pytest.mark.skipif(not NOT_INSTALLED, reason="kfp-components is installed here")
def test_auto_without_kfp_components_ends_at_the_datasets(tmp_path):
    assert training_step("auto") is None and generation_step("auto") is None
    assert main(["compile", "-o", str(tmp_path / "p.yaml"), "--training-component", "auto"]) == 0
    assert read_spec(tmp_path / "p.yaml")[0]["pipelineInfo"]["name"] == "knowledge-mixing"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Puts a stand-in `kfp_components` package on the path, with pipelines-components' module
    path, exporting one of tests/standins.py's components under the name it has there."""

    def install(module: str, import_line: str) -> None:
        package = tmp_path / "site" / Path(*module.split("."))
        package.mkdir(parents=True)
        for folder in (package, *package.relative_to(tmp_path / "site").parents):
            (tmp_path / "site" / folder / "__init__.py").touch()
        (package / "__init__.py").write_text(
            f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r})\n{import_line}\n")
        monkeypatch.syspath_prepend(str(tmp_path / "site"))

    yield install
    for name in [m for m in sys.modules if m == "kfp_components" or m.startswith("kfp_components.")]:
        del sys.modules[name]


def test_installed_train_model_is_wired_by_default(installed, tmp_path):
    installed("kfp_components.components.training.sft",
              "from standins import train_on_workspace as train_model")
    step = training_step("auto")
    assert step.component.name == "train-on-workspace" and step.takes_workspace_path
    assert step.description == "train_model from the installed kfp-components package"
    assert main(["compile", "-o", str(tmp_path / "p.yaml")]) == 0
    spec, platform = read_spec(tmp_path / "p.yaml")
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    assert "train-on-workspace" in spec["root"]["dag"]["tasks"]
    assert "exec-train-on-workspace" in platform


def test_installed_sdg_generates_the_four_sets_by_default(installed, tmp_path):
    installed("kfp_components.components.data_processing.sdg.sdg_hub.component",
              "from standins import generate_flow as sdg")
    assert generation_step("auto").per_flow
    assert main(["compile", "-o", str(tmp_path / "p.yaml")]) == 0
    spec, _ = read_spec(tmp_path / "p.yaml")
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    assert sum(name.startswith("generate-flow") for name in spec["root"]["dag"]["tasks"]) == 4
    assert "step03_uri" not in spec["root"]["inputDefinitions"]["parameters"]
