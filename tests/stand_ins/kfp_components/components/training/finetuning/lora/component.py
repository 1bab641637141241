# Stand-in for red-hat-data-services/pipelines-components at dd8d0c0 (kfp-components 1.11.0).
# Module path, decorator settings and signature are the real ones (read from that commit, see
# /work/notes/issue12_research.md); the body is not theirs: tests compile it and never run it.
"""LoRA Training Component (stand-in)."""

import os
from typing import Optional

from kfp import dsl

_SHARED_DIR = os.path.join(os.path.dirname(__file__), "..", "shared")


@dsl.component(
    base_image="quay.io/opendatahub/odh-th06-cpu-torch291-py312:odh-3.4",
    packages_to_install=["kubernetes", "olot", "matplotlib"],
    embedded_artifact_path=_SHARED_DIR,
    task_config_passthroughs=[
        dsl.TaskConfigField.RESOURCES,
        dsl.TaskConfigField.KUBERNETES_TOLERATIONS,
        dsl.TaskConfigField.KUBERNETES_NODE_SELECTOR,
        dsl.TaskConfigField.KUBERNETES_AFFINITY,
        dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.ENV, apply_to_task=True),
        dsl.TaskConfigPassthrough(field=dsl.TaskConfigField.KUBERNETES_VOLUMES, apply_to_task=True),
    ],
)
def train_model(
    pvc_path: str,
    output_model: dsl.Output[dsl.Model],
    output_metrics: dsl.Output[dsl.Metrics],
    output_loss_chart: dsl.Output[dsl.HTML],
    dataset: dsl.Input[dsl.Dataset] = None,
    training_base_model: str = "Qwen/Qwen2.5-1.5B-Instruct",
    training_effective_batch_size: int = 128,
    training_max_tokens_per_gpu: int = 32000,
    training_max_seq_len: int = 8192,
    training_learning_rate: Optional[float] = None,
    training_lr_warmup_steps: Optional[int] = None,
    training_checkpoint_at_epoch: Optional[bool] = None,
    training_num_epochs: Optional[int] = None,
    training_data_output_dir: Optional[str] = None,
    training_envs: str = "",
    training_resource_cpu_per_worker: str = "4",
    training_resource_gpu_per_worker: int = 1,
    training_resource_memory_per_worker: str = "32Gi",
    training_resource_num_procs_per_worker: str = "auto",
    training_resource_num_workers: int = 1,
    training_metadata_labels: str = "",
    training_metadata_annotations: str = "",
    training_lora_r: int = 16,
    training_lora_alpha: int = 32,
    training_lora_dropout: float = 0.0,
    training_lora_target_modules: str = "",
    training_lora_use_rslora: Optional[bool] = None,
    training_lora_use_dora: Optional[bool] = None,
    training_lora_load_in_4bit: Optional[bool] = None,
    training_lora_load_in_8bit: Optional[bool] = None,
    training_lora_bnb_4bit_quant_type: Optional[str] = None,
    training_lora_bnb_4bit_compute_dtype: Optional[str] = None,
    training_lora_bnb_4bit_use_double_quant: Optional[bool] = None,
    training_lora_sample_packing: Optional[bool] = None,
    training_seed: Optional[int] = None,
    training_use_liger: Optional[bool] = None,
    training_lr_scheduler: Optional[str] = None,
    training_micro_batch_size: Optional[int] = None,
    training_gradient_accumulation_steps: Optional[int] = None,
    training_flash_attention: Optional[bool] = None,
    training_bf16: Optional[bool] = None,
    training_fp16: Optional[bool] = None,
    training_tf32: Optional[bool] = None,
    training_save_steps: Optional[int] = None,
    training_eval_steps: Optional[int] = None,
    training_logging_steps: Optional[int] = None,
    training_save_total_limit: Optional[int] = None,
    training_wandb_project: Optional[str] = None,
    training_wandb_entity: Optional[str] = None,
    training_wandb_run_name: Optional[str] = None,
    training_tensorboard_log_dir: Optional[str] = None,
    training_dataset_type: Optional[str] = None,
    training_field_messages: Optional[str] = None,
    training_field_instruction: Optional[str] = None,
    training_field_input: Optional[str] = None,
    training_field_output: Optional[str] = None,
    training_enable_model_splitting: Optional[bool] = None,
    training_runtime: str = "training-hub",
    kubernetes_config: dsl.TaskConfig = None,
) -> str:
    """Stand-in: compiled by the tests, never run."""
    raise RuntimeError("stand-in of kfp-components train_model: not runnable")
