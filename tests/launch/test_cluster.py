"""Cluster settings of the tasks: resources, caching, secrets, volumes and the workspace, as
compiled. Training Hub's train_model is the stand-in of tests/stand_ins (the `kfp_components`
fixture: red-hat-data-services/pipelines-components at dd8d0c0); how upstream wires it
(pipelines/training/finetuning/*/pipeline.py there) is what the training tests check."""
import pytest
from standins import compile_spec, compile_to, containers, generate_flow, record_training

import pipeline
from knowledge_mixing.errors import ParameterError
from launch.cluster import TASK_RESOURCES, ClusterSettings, Resources, parse_resources
from launch.compile import compile_pipeline, compiled_documents
from launch.plugins import generation_step, training_step

MIXING_EXECUTORS = {"exec-fetch-tokenizer", "exec-load-knowledge", "exec-plan-cuts",
                    "exec-shard-indices", "exec-count-tokens", "exec-gather-samples",
                    "exec-count-replay", "exec-mix-cut", "exec-select-cut"}
MIXING_TASKS = {name[len("exec-"):] for name in MIXING_EXECUTORS}
HF_TOKEN = [{"envVar": "HF_TOKEN", "secretKey": "HF_TOKEN"}]


def compiled(tmp_path, settings=ClusterSettings(), **options):
    return compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(settings=settings, **options)),
                        tmp_path / "p.yaml")


def every_task(spec: dict) -> dict:
    """Task name → task, in every DAG of the pipeline (the root, the stage, its loops)."""
    dags = [spec["root"]["dag"], *(c["dag"] for c in spec["components"].values() if "dag" in c)]
    return {name: task for dag in dags for name, task in dag["tasks"].items()}


def cached(spec: dict) -> set:
    return {name for name, task in every_task(spec).items()
            if task.get("cachingOptions", {}).get("enableCache")}


def test_default_resources_are_sized_per_task(tmp_path):
    spec, _ = compiled(tmp_path)
    ours = containers(spec)
    assert set(ours) == MIXING_EXECUTORS
    for name, container in ours.items():
        expected = TASK_RESOURCES[name[len("exec-"):].replace("-", "_")]
        resources = container["resources"]
        assert (resources["resourceCpuRequest"], resources["resourceCpuLimit"],
                resources["resourceMemoryRequest"], resources["resourceMemoryLimit"]) == (
            expected.cpu_request, expected.cpu_limit, expected.memory_request,
            expected.memory_limit)
    limits = {name[len("exec-"):]: (c["resources"]["cpuLimit"], c["resources"]["memoryLimit"])
              for name, c in ours.items()}
    small = {"plan-cuts", "shard-indices", "select-cut", "gather-samples"}
    assert len({limits[t] for t in small}) == 1
    assert limits["plan-cuts"] < limits["mix-cut"] < limits["load-knowledge"] <= \
        limits["count-tokens"]


def test_default_pipeline_caches_nothing_and_names_no_secret(tmp_path):
    """New data at the same URI must give new cuts; and the YAML must start on OpenShift AI
    2.22–2.25, where an optional secret that is missing stops the pod."""
    spec, platform = compiled(tmp_path)
    assert cached(spec) == set()
    assert platform == {}
    spec, platform = compiled(tmp_path, tokenizer_from_uri=True)
    assert cached(spec) == set() and platform == {}


def test_cache_turns_caching_on_for_the_mixing_tasks_only(tmp_path):
    spec, _ = compiled(tmp_path, ClusterSettings(cache=True))
    assert cached(spec) == MIXING_TASKS | {"knowledge-mixing-stage"}  # not the importer


def test_resources_secret_and_volume_as_set(tmp_path):
    settings = ClusterSettings(
        resources=dict([parse_resources("count_tokens=4,8,8Gi,16Gi")]),
        hf_token_secret="my-hf", pvc="models", pvc_mount_path="/models")
    spec, platform = compiled(tmp_path, settings)
    count = containers(spec)["exec-count-tokens"]["resources"]
    assert (count["resourceCpuRequest"], count["resourceCpuLimit"], count["resourceMemoryRequest"],
            count["resourceMemoryLimit"]) == ("4", "8", "8Gi", "16Gi")
    assert containers(spec)["exec-mix-cut"]["resources"]["resourceCpuLimit"] == \
        TASK_RESOURCES["mix_cut"].cpu_limit
    # a hub token secret, once named, must exist: required, on the task that reaches the hub
    [secret] = platform["exec-fetch-tokenizer"]["secretAsEnv"]
    assert secret["secretName"] == "my-hf" and secret["optional"] is False
    assert secret["keyToEnv"] == HF_TOKEN
    mounts = {name: e["pvcMount"] for name, e in platform.items() if "pvcMount" in e}
    assert set(mounts) == MIXING_EXECUTORS
    assert all([(m["constant"], m["mountPath"]) for m in mount] == [("models", "/models")]
               for mount in mounts.values())


@pytest.mark.parametrize("text,message", [
    ("count=1,2,1Gi,2Gi", "name a task: fetch_tokenizer, load_knowledge"),
    ("mix_cut=1,2,1Gi", "expected TASK=CPU_REQUEST,CPU_LIMIT,MEMORY_REQUEST,MEMORY_LIMIT "
     r"\(the default: mix_cut=500m,1,1Gi,4Gi\)"),
    ("mix_cut=1,two,1Gi,2Gi", "CPU limit 'two' is not a quantity such as 2 or 500m"),
    ("mix_cut=1,2,1GB,2Gi", "memory request '1GB' is not a quantity such as 512Mi or 4Gi"),
    ("mix_cut=2,1,1Gi,2Gi", "a request above its limit"),
    ("mix_cut=1,2,4Gi,2Gi", "a request above its limit"),
])
def test_bad_resources_are_named(text, message):
    with pytest.raises(ParameterError, match=f"^--resources {text}: {message}"):
        parse_resources(text)
    assert parse_resources("mix_cut=0.5,1500m,512Mi,2G") == (
        "mix_cut", Resources("0.5", "1500m", "512Mi", "2G"))


def test_generic_training_step_is_uncached_with_an_optional_hub_token(tmp_path):
    training = training_step(str(compile_to(record_training, tmp_path / "t.yaml")))
    spec, platform = compiled(tmp_path, training=training)
    executor = platform["exec-record-training"]
    assert executor["imagePullPolicy"] == "IfNotPresent"
    [secret] = executor["secretAsEnv"]  # not Training Hub's: no cluster credentials
    assert (secret["secretName"], secret["optional"], secret["keyToEnv"]) == ("hf-token", True,
                                                                            HF_TOKEN)
    assert "record-training" not in cached(spec)
    assert "pipelineConfig" not in compiled_documents(tmp_path / "p.yaml")[1]  # no workspace
    _, platform = compiled(tmp_path, ClusterSettings(training_hf_token_secret=""),
                           training=training)
    assert "secretAsEnv" not in platform["exec-record-training"]


def test_train_model_is_wired_as_the_upstream_pipelines_wire_it(kfp_components, tmp_path):
    """pipelines/training/finetuning/sft/pipeline.py at dd8d0c0: pvc_path is the workspace
    (size, access mode, storage class), kubernetes-credentials required, the OCI pull secret
    and hf-token optional, no caching, IfNotPresent; its TaskConfig passthroughs kept."""
    settings = ClusterSettings(workspace_storage_class="nfs-csi", workspace_size="50Gi")
    compile_pipeline(pipeline.build_pipeline(pipeline.PipelineOptions(
        settings=settings, training=training_step("sft"))), tmp_path / "p.yaml")
    spec, platform = compiled_documents(tmp_path / "p.yaml")
    task = spec["root"]["dag"]["tasks"]["train-model"]
    assert task["inputs"]["parameters"]["pvc_path"]["runtimeValue"]["constant"] == \
        "{{$.workspace_path}}"
    assert task["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"] == {
        "outputArtifactKey": "training_dataset", "producerTask": "knowledge-mixing-stage"}
    assert "train-model" not in cached(spec)
    assert platform["pipelineConfig"]["workspace"] == {
        "size": "50Gi", "kubernetes": {"pvcSpecPatch": {"accessModes": ["ReadWriteMany"],
                                                        "storageClassName": "nfs-csi"}}}
    executor = platform["deploymentSpec"]["executors"]["exec-train-model"]
    assert executor["imagePullPolicy"] == "IfNotPresent"
    secrets = {s["secretName"]: (s["optional"], [k["secretKey"] for k in s["keyToEnv"]])
               for s in executor["secretAsEnv"]}
    assert secrets == {
        "kubernetes-credentials": (False, ["KUBERNETES_SERVER_URL", "KUBERNETES_AUTH_TOKEN"]),
        "oci-pull-secret-model-download": (True, ["OCI_PULL_SECRET_MODEL_DOWNLOAD"]),
        "hf-token": (True, ["HF_TOKEN"])}
    assert [p["field"] for p in spec["components"]["comp-train-model"]["taskConfigPassthroughs"]] \
        == ["RESOURCES", "KUBERNETES_TOLERATIONS", "KUBERNETES_NODE_SELECTOR",
            "KUBERNETES_AFFINITY", "ENV", "KUBERNETES_VOLUMES"]


def test_training_hub_settings_are_named(kfp_components):
    training = training_step("sft")
    for settings, message in (
            (ClusterSettings(), "--workspace-storage-class: required for a training pipeline"),
            (ClusterSettings(workspace_storage_class="nfs", workspace_access_mode="RWX"),
             "--workspace-access-mode RWX: give one of ReadWriteMany, ReadWriteOnce"),
            (ClusterSettings(workspace_storage_class="nfs", kubernetes_credentials_secret=""),
             "--kubernetes-credentials-secret: empty; train_model needs KUBERNETES_SERVER_URL")):
        with pytest.raises(ParameterError, match=f"^{message}"):
            pipeline.build_pipeline(pipeline.PipelineOptions(settings=settings, training=training))


@pytest.mark.parametrize("llm_secret", ["llm-credentials", ""])
def test_generation_tasks_get_the_teacher_credentials_and_the_volume(tmp_path, llm_secret):
    generation = generation_step(str(compile_to(generate_flow, tmp_path / "g.yaml")))
    spec, platform = compiled(tmp_path, ClusterSettings(pvc="seeds", llm_secret=llm_secret),
                              generation=generation)
    generators = {k: v for k, v in platform.items() if k.startswith("exec-generate-flow")}
    assert len(generators) == 4
    for executor in generators.values():
        assert executor["pvcMount"][0]["mountPath"] == "/mnt/data"
        if llm_secret:  # required: it must exist before the run (a missing one is not ignored)
            [secret] = executor["secretAsEnv"]
            assert secret["secretName"] == "llm-credentials" and secret["optional"] is False
            assert {e["envVar"] for e in secret["keyToEnv"]} == {"LLM_API_KEY", "LLM_API_BASE"}
        else:
            assert "secretAsEnv" not in executor
    assert cached(spec) == set()


def test_the_readme_shows_the_default_resources():
    from helpers import REPO

    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<!-- resources table"))
    rows = [line.strip("|").split("|") for line in lines[start + 3:lines.index("", start)]]
    assert {row[0].strip(" `"): Resources(*(cell.strip() for cell in row[1:5])) for row in rows} \
        == TASK_RESOURCES
