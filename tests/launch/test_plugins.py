"""Plug-in steps: the generation and training components we wire but do not own, from the
installed kfp-components package (stood in by tests/stand_ins: red-hat-data-services/
pipelines-components at dd8d0c0, see the `kfp_components` fixture), MODULE:ATTR, or a compiled
component YAML file."""
import importlib.util
import inspect
from typing import Optional

import pytest
from helpers import REPO
from standins import compile_to, generate_flow, generate_step03, read_spec, record_training

from components.image import IMAGE
from knowledge_mixing.errors import ParameterError
from launch.cli import main
from launch.plugins import generation_step, training_step

NOT_INSTALLED = importlib.util.find_spec("kfp_components") is None
TRAINING = "kfp_components.components.training.finetuning"
SDG = "kfp_components.components.data_processing.sdg.component"


def parameters(step) -> dict:
    return {p.name: (p.component_input, p.annotation, p.default) for p in step.parameters}


def test_training_component_from_yaml_takes_the_cut_and_brings_its_parameters(tmp_path):
    path = compile_to(record_training, tmp_path / "training.yaml")
    step = training_step(str(path))
    assert step.wired_input == "dataset" and not step.training_hub and not step.warnings
    assert step.origin == f"component 'record-training' from {path}"
    assert parameters(step) == {
        "training_record_to": ("record_to", str, inspect.Parameter.empty),
        "training_base_model": ("training_base_model", str, "Qwen/Qwen2.5-1.5B-Instruct"),
        "training_num_epochs": ("training_num_epochs", int, 1),
        "training_max_seq_len": ("training_max_seq_len", int, 8192),
    }


def test_training_component_without_a_dataset_input_is_refused(tmp_path):
    not_training = compile_to(generate_step03, tmp_path / "generation.yaml")
    with pytest.raises(ParameterError, match=rf"^--training-component {not_training}: component "
                       "'generate-step03' needs one Dataset input .* it has none"):
        training_step(str(not_training))


def test_generation_component_with_one_artifact_output_gives_the_folder(tmp_path):
    step = generation_step(str(compile_to(generate_step03, tmp_path / "generation.yaml")))
    assert not step.per_flow and step.wired_output == "step03" and not step.seed_input
    assert parameters(step) == {
        "generation_source_folder": ("source_folder", str, inspect.Parameter.empty),
        "generation_flows": ("flows", int, 4)}


def test_sdg_shaped_generation_runs_per_flow_from_seed_data(tmp_path):
    """Its Dataset input takes the seed data (`seed_data_uri`), so its PVC path is not a
    parameter; the teacher `model` is required."""
    path = str(compile_to(generate_flow, tmp_path / "generation.yaml"))
    step = generation_step(path)
    assert step.per_flow and step.wired_output == "output_artifact"  # its Metrics are a report
    assert step.seed_input == "input_artifact"
    found = parameters(step)
    assert found["generation_model"] == ("model", str, inspect.Parameter.empty)
    assert found["generation_runtime_params"] == ("runtime_params", Optional[dict], None)
    assert not {"generation_flow_id", "generation_flow_yaml_path",
                "generation_input_pvc_path"} & set(found)
    # the seed data from a path on the mounted PVC instead: that path is required
    step = generation_step(path, seed_data="pvc")
    assert not step.seed_input
    assert parameters(step)["generation_input_pvc_path"] == (
        "input_pvc_path", str, inspect.Parameter.empty)


def test_seed_data_is_uri_or_pvc(tmp_path):
    folder = str(compile_to(generate_step03, tmp_path / "generation.yaml"))
    with pytest.raises(ParameterError, match="^--seed-data disk: give uri or pvc"):
        generation_step(folder, seed_data="disk")
    with pytest.raises(ParameterError, match="^--seed-data pvc: component 'generate-step03' .* "
                       "has no input_pvc_path input"):
        generation_step(folder, seed_data="pvc")


def test_required_input_the_pipeline_cannot_feed_is_named(tmp_path):
    with pytest.raises(ParameterError, match="required input 'dataset' of type system.Dataset"):
        generation_step(str(compile_to(record_training, tmp_path / "training.yaml")))


@pytest.mark.parametrize("step,option", [(training_step, "--training-component"),
                                         (generation_step, "--generation-component")])
@pytest.mark.parametrize("content,message", [
    (None, "no such component YAML file"),
    ("just: text\n", "not a KFP component YAML file"),
])
def test_bad_plug_in_files_are_named(tmp_path, step, option, content, message):
    path = tmp_path / "component.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ParameterError, match=f"^{option} {path}: {message}"):
        step(str(path))


def test_none_means_no_step():
    assert training_step("none") is None and generation_step("none") is None


@pytest.mark.skipif(not NOT_INSTALLED, reason="kfp-components is installed here")
def test_auto_without_kfp_components_wires_nothing_and_says_so(tmp_path, monkeypatch, capsys):
    """As the README shows it."""
    monkeypatch.chdir(tmp_path)
    assert training_step("auto") is None and generation_step("auto") is None
    with pytest.raises(ParameterError, match=rf"^--training-component osft: {TRAINING}.osft is "
                       "not installed here; install kfp-components from the pipelines-components "
                       "repository"):
        training_step("osft")
    assert main(["compile", "-o", "knowledge_mixing_pipeline.yaml"]) == 0
    assert read_spec("knowledge_mixing_pipeline.yaml")[0]["pipelineInfo"]["name"] == \
        "knowledge-mixing"
    out = capsys.readouterr().out
    assert f"training: none found ({TRAINING}.sft is not installed here" in out
    assert f"generation: none found ({SDG} is not installed here" in out
    readme = (REPO / "README.md").read_text()
    shown = readme.split("$ python pipeline.py compile -o knowledge_mixing_pipeline.yaml\n")[1]
    assert shown.startswith(out.replace(IMAGE, "quay.io/opendatahub/knowledge-mixing:0.1.0"))


@pytest.mark.parametrize("source,parameter", [
    ("auto", "training_save_samples"), ("sft", "training_save_samples"),
    ("osft", "training_unfreeze_rank_ratio"), ("lora", "training_lora_r")])
def test_each_algorithm_is_its_own_train_model(kfp_components, source, parameter):
    step = training_step(source)
    module = f"{TRAINING}.{'sft' if source == 'auto' else source}"
    assert step.origin == f"train_model from {module} (kfp-components 1.11.0)"
    assert step.training_hub and step.wired_input == "dataset" and not step.warnings
    found = parameters(step)
    assert parameter in found and "pvc_path" not in found and "kubernetes_config" not in found
    assert found["training_max_seq_len"] == ("training_max_seq_len", int, 8192)


def test_installed_sdg_is_the_generation_step(kfp_components):
    step = generation_step("auto")
    assert step.origin == f"sdg from {SDG} (kfp-components 1.11.0), one task per knowledge flow"
    assert step.per_flow and step.seed_input == "input_artifact"
    assert step.wired_output == "output_artifact"


def test_installed_package_without_sdg_wires_training_only(kfp_components, tmp_path, capsys):
    """An older kfp-components without `sdg`: `auto` finds none, and says so."""
    (kfp_components / "kfp_components" / "components" / "data_processing" / "sdg" /
     "component.py").unlink()
    assert generation_step("auto") is None and training_step("auto") is not None
    assert main(["compile", "-o", str(tmp_path / "p.yaml"),
                 "--workspace-storage-class", "nfs-csi"]) == 0
    out = capsys.readouterr().out
    assert f"generation: none found ({SDG} is not installed here" in out
    assert f"training: train_model from {TRAINING}.sft (kfp-components 1.11.0)" in out


def test_a_plug_in_whose_import_fails_is_an_error_not_a_missing_step(kfp_components):
    """Installed but broken (a dependency missing): `auto` says why instead of wiring nothing."""
    component = kfp_components / "kfp_components" / "components" / "training" / "finetuning" / \
        "sft" / "component.py"
    component.write_text("import olot_not_installed\n" + component.read_text())
    with pytest.raises(ParameterError, match=rf"^--training-component auto: importing "
                       rf"{TRAINING}.sft failed \(No module named 'olot_not_installed'\)"):
        training_step("auto")


@pytest.mark.parametrize("source,message", [
    (f"{TRAINING}.sft:train", f"{TRAINING}.sft has no attribute 'train'; name the component as "
     "MODULE:ATTR"),
    ("no_such_package.training:train_model", "no module named no_such_package.training"),
    ("json:dumps", "json:dumps is not a KFP component"),
])
def test_module_form_errors_name_the_option(kfp_components, source, message):
    with pytest.raises(ParameterError, match=f"^--training-component {source}: {message}"):
        training_step(source)


def test_module_form_names_any_component(kfp_components):
    step = training_step(f"{TRAINING}.lora.component:train_model")
    assert step.origin == f"train_model from {TRAINING}.lora.component (kfp-components 1.11.0)"
    assert "training_lora_alpha" in parameters(step)
    step = generation_step(f"{SDG}:sdg")
    assert step.per_flow and step.seed_input == "input_artifact"


def test_yaml_train_model_is_warned_that_its_task_config_is_dropped(kfp_components, tmp_path,
                                                                    capsys):
    """kfp 2.17's YAML loader drops train_model's TaskConfig passthroughs (the volumes it hands
    the training job among them): compile warns and says to use the module form."""
    from kfp_components.components.training.finetuning.sft import train_model

    path = compile_to(train_model, tmp_path / "train_model.yaml")
    assert "taskConfigPassthroughs" in path.read_text()
    step = training_step(str(path))
    assert step.component.component_spec.task_config_passthroughs is None  # what the loader does
    [warning] = step.warnings
    assert warning.startswith(f"--training-component {path}: kfp's YAML loader drops its "
                              "TaskConfig passthroughs (RESOURCES, KUBERNETES_TOLERATIONS, "
                              "KUBERNETES_NODE_SELECTOR, KUBERNETES_AFFINITY, ENV, "
                              "KUBERNETES_VOLUMES, TaskConfig input)")
    assert warning.endswith("use the module form (sft, osft, lora or MODULE:ATTR)")
    assert main(["compile", "-o", str(tmp_path / "p.yaml"), "--training-component", str(path),
                 "--generation-component", "none", "--workspace-storage-class", "nfs-csi"]) == 0
    assert capsys.readouterr().err == f"warning: {warning}\n"
