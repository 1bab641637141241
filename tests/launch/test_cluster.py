"""Cluster settings of the tasks: resources, caching, secrets and volumes, as compiled."""
import pytest
from standins import (
    compile_spec,
    compile_to,
    containers,
    generate_flow,
    record_training,
)

import pipeline
from launch.cluster import ClusterSettings
from launch.plugins import generation_step, training_step

MIXING_EXECUTORS = {"exec-fetch-tokenizer", "exec-load-knowledge", "exec-plan-cuts",
                    "exec-shard-indices", "exec-count-tokens", "exec-gather-samples",
                    "exec-count-replay", "exec-mix-cut", "exec-select-cut"}
HF_TOKEN = [{"envVar": "HF_TOKEN", "secretKey": "HF_TOKEN"}]


def compiled(tmp_path, settings=ClusterSettings(), **options):
    return compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(settings=settings, **options)),
                        tmp_path / "p.yaml")


def test_default_resources_caching_and_hub_token(tmp_path):
    spec, platform = compiled(tmp_path)
    ours = containers(spec)
    assert set(ours) == MIXING_EXECUTORS
    for container in ours.values():
        assert container["resources"]["cpuRequest"] == 1.0 and container["resources"]["cpuLimit"] == 2.0
        assert container["resources"]["memoryRequest"] > 2.0  # 2Gi, in GB
        assert container["resources"]["memoryLimit"] > 8.0  # 8Gi
    stage = spec["components"]["comp-knowledge-mixing-stage"]["dag"]["tasks"]
    loops = [spec["components"][t["componentRef"]["name"]]["dag"]["tasks"]
             for t in stage.values() if "parameterIterator" in t]
    tasks = [t for t in stage.values() if "parameterIterator" not in t]
    tasks += [t for loop in loops for t in loop.values()]
    tasks.append(spec["root"]["dag"]["tasks"]["fetch-tokenizer"])
    assert len(tasks) == 9 and all(t["cachingOptions"]["enableCache"] for t in tasks)
    # the hub token reaches only the task that needs the hub, from a secret, optionally
    assert set(platform) == {"exec-fetch-tokenizer"}
    [secret] = platform["exec-fetch-tokenizer"]["secretAsEnv"]
    assert secret["secretName"] == "hf-token" and secret["optional"] is True
    assert secret["keyToEnv"] == HF_TOKEN


def test_set_resources_secret_and_volume(tmp_path):
    settings = ClusterSettings(cpu_request="500m", cpu_limit="4", memory_limit="16Gi",
                               hf_token_secret="my-hf", pvc="models", pvc_mount_path="/models")
    spec, platform = compiled(tmp_path, settings)
    for container in containers(spec).values():
        assert container["resources"]["cpuRequest"] == 0.5
        assert container["resources"]["cpuLimit"] == 4.0
        assert container["resources"]["memoryLimit"] > 16.0
    assert platform["exec-fetch-tokenizer"]["secretAsEnv"][0]["secretName"] == "my-hf"
    mounts = {name: e["pvcMount"] for name, e in platform.items() if "pvcMount" in e}
    assert set(mounts) == MIXING_EXECUTORS
    assert all([(m["constant"], m["mountPath"]) for m in mount] == [("models", "/models")]
               for mount in mounts.values())


def test_no_hub_token_secret(tmp_path):
    training = training_step(str(compile_to(record_training, tmp_path / "t.yaml")))
    _, platform = compiled(tmp_path, ClusterSettings(hf_token_secret=""), training=training)
    assert platform == {}
    _, platform = compiled(tmp_path, ClusterSettings(hf_token_secret=""), tokenizer_from_uri=True)
    assert platform == {}


def test_training_gets_the_hub_token(tmp_path):
    training = training_step(str(compile_to(record_training, tmp_path / "t.yaml")))
    _, platform = compiled(tmp_path, training=training)
    assert platform["exec-record-training"]["secretAsEnv"][0]["secretName"] == "hf-token"
    assert platform["exec-record-training"]["secretAsEnv"][0]["keyToEnv"] == HF_TOKEN


@pytest.mark.parametrize("llm_secret", ["llm-credentials", ""])
def test_generation_tasks_get_the_teacher_credentials_and_the_volume(tmp_path, llm_secret):
    generation = generation_step(str(compile_to(generate_flow, tmp_path / "g.yaml")))
    _, platform = compiled(tmp_path, ClusterSettings(pvc="seeds", llm_secret=llm_secret),
                           generation=generation)
    generators = {k: v for k, v in platform.items() if k.startswith("exec-generate-flow")}
    assert len(generators) == 4
    for executor in generators.values():
        assert executor["pvcMount"][0]["mountPath"] == "/mnt/data"
        if llm_secret:
            [secret] = executor["secretAsEnv"]
            assert secret["secretName"] == "llm-credentials" and secret["optional"] is True
            assert {e["envVar"] for e in secret["keyToEnv"]} == {"LLM_API_KEY", "LLM_API_BASE"}
        else:
            assert "secretAsEnv" not in executor
