"""Stand-ins for the generation and training steps we wire but do not own, compiled to
component YAML the way users plug theirs in (--generation-component / --training-component)."""
from kfp import compiler, dsl


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def generate_step03(source_folder: str, step03: dsl.Output[dsl.Artifact], flows: int = 4):
    """Stands in for knowledge generation: publishes an existing step-03 folder as its output."""
    import shutil

    shutil.copytree(source_folder, step03.path)
    step03.metadata["flows"] = flows


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def generate_flow(flow_id: str, source_folder: str, output_artifact: dsl.Output[dsl.Dataset],
                  output_metrics: dsl.Output[dsl.Metrics], model: str = "openai/teacher",
                  max_concurrency: int = 10):
    """Shaped like the kfp-components `sdg` component (one flow per task, chosen by `flow_id`,
    one JSONL file out): publishes that flow's set from an existing step-03 folder."""
    import shutil

    folder = {"epic-jade-656": "extractive_summary", "mild-thunder-748": "detailed_summary",
              "heavy-heart-77": "key_facts_to_qa", "stellar-peak-605": "document_based_qa"}[flow_id]
    shutil.copyfile(f"{source_folder}/{folder}/gen.jsonl", output_artifact.path)
    output_metrics.log_metric("output_rows", sum(1 for _ in open(output_artifact.path)))


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def record_training(dataset: dsl.Input[dsl.Dataset], record_to: str,
                    model: dsl.Output[dsl.Model],
                    training_base_model: str = "Qwen/Qwen2.5-1.5B-Instruct",
                    training_num_epochs: int = 1) -> str:
    """Stands in for train_model: keeps a copy of the dataset it was handed."""
    import shutil

    shutil.copyfile(dataset.path, record_to)
    with open(model.path, "w") as f:
        f.write(f"{training_base_model} x{training_num_epochs}")
    return "recorded"


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def train_on_workspace(pvc_path: str, dataset: dsl.Input[dsl.Dataset],
                       model: dsl.Output[dsl.Model], training_learning_rate: float = None):
    """Shaped like Training Hub's train_model: wants the workspace path."""


def compile_to(component, path):
    compiler.Compiler().compile(component, str(path))
    return path
