"""KFP-side helpers shared by the tests (test files never import each other):

- runnable stand-ins for the generation and training steps we wire but do not own, compiled to
  component YAML the way users plug theirs in (--generation-component / --training-component);
  the installed kfp-components package is stood in by tests/stand_ins (the `kfp_components`
  fixture of conftest.py);
- `artifact` and `run_components`: the components' own functions (`python_func`) chained on real
  files, as KFP would call them, without the local runner;
- `example_chain`: one such chain on the example data, made once per test session and shared by
  the files of tests/components/;
- `compile_spec`: a pipeline compiled in this process, read back as YAML.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import yaml
from kfp import compiler, dsl

# ------------------------------------------------------------------ stand-in plug-in components


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def generate_step03(source_folder: str, step03: dsl.Output[dsl.Artifact], flows: int = 4):
    """Stands in for knowledge generation: publishes an existing step-03 folder as its output."""
    import shutil

    shutil.copytree(source_folder, step03.path)
    step03.metadata["flows"] = flows


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def generate_flow(
    output_artifact: dsl.Output[dsl.Dataset],
    output_metrics: dsl.Output[dsl.Metrics],
    input_artifact: dsl.Input[dsl.Dataset] = None,
    input_pvc_path: str = "",
    flow_id: str = "",
    flow_yaml_path: str = "",
    model: str = "",
    max_concurrency: int = 10,
    checkpoint_pvc_path: str = "",
    save_freq: int = 100,
    log_level: str = "INFO",
    temperature: float = -1.0,
    max_tokens: int = -1,
    export_to_pvc: bool = False,
    export_path: str = "",
    runtime_params: dict = None,
):
    """Runnable stand-in of the kfp-components `sdg` component: its inputs and outputs as in
    red-hat-data-services/pipelines-components at dd8d0c0 (components/data_processing/sdg/
    component.py), one flow per task chosen by `flow_id`, one JSONL file out. Its "seed data"
    is a step-03 folder (from `input_artifact`, or `input_pvc_path`): it publishes that flow's
    set, and records the teacher `model` it was given."""
    import shutil

    folder = {"epic-jade-656": "extractive_summary", "mild-thunder-748": "detailed_summary",
              "heavy-heart-77": "key_facts_to_qa", "stellar-peak-605": "document_based_qa"}[flow_id]
    seed = input_artifact.path if input_artifact is not None else input_pvc_path
    shutil.copyfile(f"{seed}/{folder}/gen.jsonl", output_artifact.path)
    output_artifact.metadata["model"] = model
    output_metrics.log_metric("output_rows", sum(1 for _ in open(output_artifact.path)))


@dsl.component(base_image="python:3.12", install_kfp_package=False)
def record_training(dataset: dsl.Input[dsl.Dataset], record_to: str,
                    model: dsl.Output[dsl.Model],
                    training_base_model: str = "Qwen/Qwen2.5-1.5B-Instruct",
                    training_num_epochs: int = 1, training_max_seq_len: int = 8192) -> str:
    """Stands in for train_model: keeps a copy of the dataset it was handed."""
    import shutil

    shutil.copyfile(dataset.path, record_to)
    with open(model.path, "w") as f:
        f.write(f"{training_base_model} x{training_num_epochs} ≤{training_max_seq_len}")
    return "recorded"


def compile_to(component, path):
    compiler.Compiler().compile(component, str(path))
    return path


# ------------------------------------------------------------------ compiled specs


def compile_spec(pipeline, path) -> tuple[dict, dict]:
    """Compile `pipeline` to `path` in this process; return the pipeline spec and the Kubernetes
    platform spec of its executors ({} without one)."""
    from launch.compile import compile_pipeline

    compile_pipeline(pipeline, str(path))
    return read_spec(path)


def read_spec(path) -> tuple[dict, dict]:
    docs = list(yaml.safe_load_all(Path(path).read_text()))
    platform = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"] \
        if len(docs) > 1 else {}
    return docs[0], platform


def containers(spec: dict) -> dict:
    """executor name → its container, for every executor that is not an importer."""
    return {name: e["container"] for name, e in spec["deploymentSpec"]["executors"].items()
            if "container" in e}


# ------------------------------------------------------------------ components' python_func


def artifact(cls, path, **metadata):
    """A KFP artifact on a local path, as the local runner hands one to a component."""
    return cls(name=Path(path).name, uri=str(path), metadata=dict(metadata))


def as_kfp_returns(metadata: dict) -> dict:
    """Metadata as KFP hands it to the next task: every number a float."""
    return json.loads(json.dumps(metadata), parse_int=float)


def run_components(work: Path, step03=None, set_inputs: dict = None, cut_sizes=(1, 5, 10),
                   qa_per_doc: int = 3, seed: int = 42, recipe: str = "", shards: int = 1,
                   save_gpt_oss_format: bool = False, tokenizer: str = "bundled-qwen"):
    """load_knowledge → fetch_tokenizer → plan_cuts → shard_indices → count_tokens per shard →
    gather_samples (shards handed over in reverse) → count_replay → mix_cut per feasible cut,
    each component's `python_func` called as the pipeline wires it. Returns every artifact."""
    from components import (
        count_replay,
        count_tokens,
        fetch_tokenizer,
        gather_samples,
        load_knowledge,
        mix_cut,
        plan_cuts,
        shard_indices,
    )

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    out = SimpleNamespace(work=work)
    inputs = {name: artifact(dsl.Dataset, path) for name, path in (set_inputs or {}).items()}
    if step03 is not None:
        inputs["step03"] = artifact(dsl.Artifact, step03)
    out.knowledge_rows = artifact(dsl.Dataset, work / "knowledge_rows")
    out.load_metrics = artifact(dsl.Metrics, work / "load_metrics")
    load_knowledge.python_func(knowledge_rows=out.knowledge_rows, metrics=out.load_metrics,
                               save_gpt_oss_format=save_gpt_oss_format,
                               max_sample_chars=2_000_000, **inputs)
    out.tokenizer_files = artifact(dsl.Artifact, work / "tokenizer")
    fetch_tokenizer.python_func(tokenizer=tokenizer, tokenizer_files=out.tokenizer_files,
                                trust_remote_code=False)
    out.plan = artifact(dsl.Artifact, work / "plan")
    out.feasible = plan_cuts.python_func(knowledge_rows=out.knowledge_rows, plan=out.plan,
                                         cut_sizes=list(cut_sizes), qa_per_doc=qa_per_doc,
                                         seed=seed, recipe=recipe, shards=shards,
                                         training_max_seq_len=0)
    out.shards, out.count_metrics = [], []
    for shard in shard_indices.python_func(shards=shards):
        out.shards.append(artifact(dsl.Dataset, work / f"shard{shard}"))
        out.count_metrics.append(artifact(dsl.Metrics, work / f"count_metrics{shard}"))
        count_tokens.python_func(
            knowledge_rows=out.knowledge_rows, tokenizer_files=out.tokenizer_files, plan=out.plan,
            samples=out.shards[-1], metrics=out.count_metrics[-1],
            save_gpt_oss_format=save_gpt_oss_format, trust_remote_code=False, shard=shard,
            shards=shards)
    for shard in out.shards:  # as KFP hands metadata to the next task
        shard.metadata.update(as_kfp_returns(shard.metadata))
    out.samples = artifact(dsl.Dataset, work / "samples")
    gather_samples.python_func(shards=out.shards[::-1], samples=out.samples)
    out.replay = artifact(dsl.Dataset, work / "replay")
    count_replay.python_func(tokenizer_files=out.tokenizer_files, plan=out.plan,
                             replay=out.replay, trust_remote_code=False)
    out.cuts = {}
    for cut in out.feasible:
        mixed = SimpleNamespace(
            mixed=artifact(dsl.Dataset, work / f"mixed_{cut}"),
            validation=artifact(dsl.Dataset, work / f"validation_{cut}"),
            metrics=artifact(dsl.Metrics, work / f"mix_metrics_{cut}"),
            card=artifact(dsl.Markdown, work / f"card_{cut}.md"))
        mix_cut.python_func(samples=out.samples, replay=out.replay, plan=out.plan,
                            tokenizer_files=out.tokenizer_files, cut=cut,
                            check_with_trainer=False, mixed=mixed.mixed,
                            validation=mixed.validation, metrics=mixed.metrics, card=mixed.card)
        out.cuts[cut] = mixed
    return out


_EXAMPLE_CHAIN = {}


def example_chain(tmp_path_factory):
    """`run_components` on examples/step_03 with cut sizes 10, 1, 5 and three shards (of the
    example's three raw documents, shard 0 gets none, shard 1 one and shard 2 two), made once per
    session: tests/components/* share it and must not change its files or metadata."""
    if "chain" not in _EXAMPLE_CHAIN:
        from helpers import EXAMPLE_STEP_03

        _EXAMPLE_CHAIN["chain"] = run_components(tmp_path_factory.mktemp("example_chain"),
                                                 step03=EXAMPLE_STEP_03, cut_sizes=(10, 1, 5),
                                                 shards=3)
    return _EXAMPLE_CHAIN["chain"]


def example_recipe() -> str:
    """examples/recipe.yaml as the `recipe` parameter of a run (JSON; replay paths made absolute,
    as `run` resolves them against the recipe's folder)."""
    from helpers import REPO

    recipe = yaml.safe_load((REPO / "examples" / "recipe.yaml").read_text())
    for source in recipe["replay"]:
        source["path"] = str(REPO / "examples" / source["path"])
    return json.dumps(recipe)


def planned_with_example_recipe(chain, work: Path):
    """The chain's knowledge rows planned under examples/recipe.yaml (cut 1), and its replay
    sources counted: (plan, replay) artifacts."""
    from components import count_replay, plan_cuts

    plan = artifact(dsl.Artifact, work / "plan")
    plan_cuts.python_func(knowledge_rows=chain.knowledge_rows, plan=plan, cut_sizes=[1],
                          qa_per_doc=3, seed=42, recipe=example_recipe(), shards=1,
                          training_max_seq_len=0)
    replay = artifact(dsl.Dataset, work / "replay")
    count_replay.python_func(tokenizer_files=chain.tokenizer_files, plan=plan, replay=replay,
                             trust_remote_code=False)
    return plan, replay


def setting_variables() -> list[str]:
    """Every environment variable a `run` or `submit` reads its settings from."""
    from knowledge_mixing.parameters import SETTINGS

    return [v for s in SETTINGS if s.variable for v in (s.variable, *s.aliases)]
