"""Kubernetes settings of the tasks, fixed when the pipeline is compiled: resources per task,
caching, secrets, volumes and the workspace."""
import re
from dataclasses import dataclass, field

from kfp import dsl

from knowledge_mixing.environment import HF_TOKEN_VARIABLE
from knowledge_mixing.errors import ParameterError

LLM_VARIABLES = ("LLM_API_KEY", "LLM_API_BASE")
"""What the kfp-components `sdg` component reads to reach its teacher model."""
CLUSTER_CREDENTIALS = ("KUBERNETES_SERVER_URL", "KUBERNETES_AUTH_TOKEN")
"""What train_model reads to create its training job; it cannot start without them."""
OCI_PULL_SECRET = "OCI_PULL_SECRET_MODEL_DOWNLOAD"
"""What train_model reads to pull an `oci://` base model."""
ACCESS_MODES = ("ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany")


def kubernetes():
    """kfp-kubernetes, imported by the settings that use it: it imports the kubernetes client
    package (0.3 - 0.6 s), which a local run, setting no secret or volume, has no use for."""
    from kfp import kubernetes as kfp_kubernetes

    return kfp_kubernetes


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str

    def __str__(self) -> str:
        return ",".join((self.cpu_request, self.cpu_limit, self.memory_request, self.memory_limit))


SMALL = Resources("100m", "500m", "256Mi", "1Gi")
TASK_RESOURCES = {
    "fetch_tokenizer": Resources("250m", "1", "512Mi", "2Gi"),
    "load_knowledge": Resources("1", "2", "1Gi", "4Gi"),
    "plan_cuts": SMALL,
    "shard_indices": SMALL,
    "count_tokens": Resources("2", "4", "2Gi", "4Gi"),
    "gather_samples": SMALL,
    "count_replay": Resources("500m", "1", "512Mi", "2Gi"),
    "mix_cut": Resources("500m", "1", "1Gi", "4Gi"),
    "select_cut": SMALL,
}
"""Requests and limits per task. Peak memory on the benchmark's medium input (800 MB of step-03
JSONL, 60,000 rows out; README, Performance): load 311 MB, count 318 MB plus 300 MB per worker
process, mix 251 MB, fetch 193 MB, gather 127 MB, plan 103 MB, the others less. Counting uses
every CPU of its limit (and as many workers as its memory limit holds); the rest is one
process."""
CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
MEMORY_UNITS = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _quantity(text: str, pattern: re.Pattern, what: str, flag: str) -> float:
    match = pattern.match(text)
    if not match:
        example = "2 or 500m" if pattern is CPU else "512Mi or 4Gi"
        raise ParameterError(f"{flag}: {what} {text!r} is not a quantity such as {example}")
    amount, unit = float(match.group(1)), match.group(2)
    return amount / 1000 if unit == "m" else amount * MEMORY_UNITS.get(unit, 1)


def parse_resources(text: str) -> tuple:
    """`TASK=CPU_REQUEST,CPU_LIMIT,MEMORY_REQUEST,MEMORY_LIMIT` → (task, Resources), checked:
    a known task, four quantities, requests within limits."""
    flag = f"--resources {text}"
    task, sep, values = text.partition("=")
    if task not in TASK_RESOURCES:
        raise ParameterError(f"{flag}: name a task: {', '.join(TASK_RESOURCES)}")
    parts = [p.strip() for p in values.split(",")]
    if not sep or len(parts) != 4:
        raise ParameterError(f"{flag}: expected TASK=CPU_REQUEST,CPU_LIMIT,MEMORY_REQUEST,"
                             f"MEMORY_LIMIT (the default: {task}={TASK_RESOURCES[task]})")
    resources = Resources(*parts)
    cpus = [_quantity(v, CPU, what, flag) for v, what in
            ((resources.cpu_request, "CPU request"), (resources.cpu_limit, "CPU limit"))]
    memory = [_quantity(v, MEMORY, what, flag) for v, what in
              ((resources.memory_request, "memory request"),
               (resources.memory_limit, "memory limit"))]
    if cpus[0] > cpus[1] or memory[0] > memory[1]:
        raise ParameterError(f"{flag}: a request above its limit; Kubernetes refuses such a pod")
    return task, resources


@dataclass(frozen=True)
class ClusterSettings:
    """Resources, caching, secrets and volumes of the tasks."""

    resources: dict = field(default_factory=dict)
    """Task → Resources, over TASK_RESOURCES."""
    set_resources: bool = True
    """False for the local runner, which has no use for them: kfp's resource setters each read
    the call stack's source files, half a second for the pipeline."""
    cache: bool = False
    """Cache the mixing tasks. Off by default: the reading step's cache key names its input
    artifact, not the content at its URI, so new data at the same URI would get the old cuts."""
    hf_token_secret: str = ""
    """Secret whose key HF_TOKEN reaches the tokenizer fetch (for gated hub tokenizers). It must
    exist: OpenShift AI before 3.0 ignores `optional`, so an optional secret that is missing
    stops the pod there."""
    llm_secret: str = "llm-credentials"
    """Secret whose keys LLM_API_KEY and LLM_API_BASE reach the generation tasks (the teacher
    endpoint the `sdg` component calls); it must exist."""
    kubernetes_credentials_secret: str = "kubernetes-credentials"
    """Secret whose keys KUBERNETES_SERVER_URL and KUBERNETES_AUTH_TOKEN train_model needs."""
    oci_pull_secret: str = "oci-pull-secret-model-download"
    """Secret for train_model's `oci://` base models; optional (OpenShift AI 3.0+)."""
    training_hf_token_secret: str = "hf-token"
    """Secret whose key HF_TOKEN reaches the training task; optional (OpenShift AI 3.0+)."""
    pvc: str = ""
    """An existing PVC mounted in every mixing and generation task (tokenizers, seed data)."""
    pvc_mount_path: str = "/mnt/data"
    workspace_size: str = "100Gi"
    workspace_storage_class: str = ""
    workspace_access_mode: str = "ReadWriteMany"

    def apply(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """A mixing task: its resources, caching, and the volume."""
        if self.set_resources:
            name = task.component_spec.name.replace("-", "_")
            resources = self.resources.get(name, TASK_RESOURCES[name])
            task.set_cpu_request(resources.cpu_request).set_cpu_limit(resources.cpu_limit)
            task.set_memory_request(resources.memory_request)
            task.set_memory_limit(resources.memory_limit)
        task.set_caching_options(self.cache)
        return self.mount_volume(task)

    def mount_volume(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        if self.pvc:
            kubernetes().mount_pvc(task, pvc_name=self.pvc, mount_path=self.pvc_mount_path)
        return task

    def give_hub_token(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """HF_TOKEN from the Kubernetes secret, never from a pipeline parameter."""
        if self.hf_token_secret:
            kubernetes().use_secret_as_env(task, secret_name=self.hf_token_secret,
                                           secret_key_to_env={HF_TOKEN_VARIABLE: HF_TOKEN_VARIABLE})
        return task

    def prepare_import(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        task.set_caching_options(False)
        return task

    def prepare_generation(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """A generation task: the volume (its seed data may live there), the teacher endpoint's
        key and base URL from the secret, no caching (new seed data at the same URI)."""
        self.mount_volume(task)
        task.set_caching_options(False)
        if self.llm_secret:
            kubernetes().use_secret_as_env(task, secret_name=self.llm_secret,
                                           secret_key_to_env={key: key for key in LLM_VARIABLES})
        return task

    def prepare_training(self, task: dsl.PipelineTask, training_hub: bool) -> dsl.PipelineTask:
        """As the pipelines-components training pipelines wire train_model: no caching, image
        pull policy IfNotPresent, the cluster credentials (required), the OCI pull secret and
        the hub token (optional)."""
        task.set_caching_options(False)
        kubernetes().set_image_pull_policy(task, "IfNotPresent")
        if training_hub:
            if not self.kubernetes_credentials_secret:
                raise ParameterError("--kubernetes-credentials-secret: empty; train_model needs "
                                     f"{' and '.join(CLUSTER_CREDENTIALS)} from a secret: name it")
            kubernetes().use_secret_as_env(task, secret_name=self.kubernetes_credentials_secret,
                                           secret_key_to_env={k: k for k in CLUSTER_CREDENTIALS},
                                           optional=False)
            if self.oci_pull_secret:
                kubernetes().use_secret_as_env(task, secret_name=self.oci_pull_secret,
                                               secret_key_to_env={OCI_PULL_SECRET: OCI_PULL_SECRET},
                                               optional=True)
        if self.training_hf_token_secret:
            kubernetes().use_secret_as_env(task, secret_name=self.training_hf_token_secret,
                                           secret_key_to_env={HF_TOKEN_VARIABLE: HF_TOKEN_VARIABLE},
                                           optional=True)
        return task

    def workspace(self) -> dsl.WorkspaceConfig:
        """The pipeline's workspace PVC (train_model's `pvc_path`), as the training pipelines of
        pipelines-components declare it."""
        if not self.workspace_storage_class:
            raise ParameterError("--workspace-storage-class: required for a training pipeline "
                                 "(train_model's workspace PVC); name a storage class that "
                                 f"offers {self.workspace_access_mode} (`oc get storageclass`), "
                                 "or compile with --training-component none")
        if self.workspace_access_mode not in ACCESS_MODES:
            raise ParameterError(f"--workspace-access-mode {self.workspace_access_mode}: give "
                                 f"one of {', '.join(ACCESS_MODES)}")
        patch = {"accessModes": [self.workspace_access_mode],
                 "storageClassName": self.workspace_storage_class}
        return dsl.WorkspaceConfig(size=self.workspace_size,
                                   kubernetes=dsl.KubernetesWorkspaceConfig(pvcSpecPatch=patch))
