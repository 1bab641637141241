"""Kubernetes settings of the tasks, fixed when the pipeline is compiled."""
from dataclasses import dataclass

from kfp import dsl, kubernetes

from knowledge_mixing.environment import HF_TOKEN_VARIABLE

LLM_VARIABLES = ("LLM_API_KEY", "LLM_API_BASE")
"""What the kfp-components `sdg` component reads to reach its teacher model."""


@dataclass(frozen=True)
class ClusterSettings:
    """Resources, secrets and volumes of the tasks."""

    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "2Gi"
    memory_limit: str = "8Gi"
    hf_token_secret: str = "hf-token"
    """Secret whose key HF_TOKEN becomes the tasks' HF_TOKEN (optional: absent is fine)."""
    llm_secret: str = "llm-credentials"
    """Secret whose keys LLM_API_KEY and LLM_API_BASE reach the generation tasks (the teacher
    endpoint the `sdg` component calls); optional: absent is fine."""
    pvc: str = ""
    """An existing PVC mounted in every mixing task (tokenizers or data on a volume)."""
    pvc_mount_path: str = "/mnt/data"
    workspace_size: str = ""
    """Size of the KFP workspace PVC; a training component that takes `pvc_path` needs one."""

    def apply(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """Resources, caching (every mixing step is deterministic) and the volume."""
        task.set_cpu_request(self.cpu_request).set_cpu_limit(self.cpu_limit)
        task.set_memory_request(self.memory_request).set_memory_limit(self.memory_limit)
        task.set_caching_options(True)
        return self.mount_volume(task)

    def mount_volume(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        if self.pvc:
            kubernetes.mount_pvc(task, pvc_name=self.pvc, mount_path=self.pvc_mount_path)
        return task

    def give_hub_token(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """HF_TOKEN from the Kubernetes secret, never from a pipeline parameter."""
        if self.hf_token_secret:
            kubernetes.use_secret_as_env(task, secret_name=self.hf_token_secret,
                                         secret_key_to_env={HF_TOKEN_VARIABLE: HF_TOKEN_VARIABLE},
                                         optional=True)
        return task

    def prepare_generation(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """A generation task gets the volume (its seed data may live there) and the teacher
        endpoint's key and base URL from the secret."""
        self.mount_volume(task)
        if self.llm_secret:
            kubernetes.use_secret_as_env(task, secret_name=self.llm_secret,
                                         secret_key_to_env={key: key for key in LLM_VARIABLES},
                                         optional=True)
        return task
