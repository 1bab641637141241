"""The knowledge-mixing pipelines and their command line.

    python pipeline.py run        # the whole mixing pipeline on this machine (KFP local runner)
    python pipeline.py compile    # pipeline YAML for Data Science Pipelines / GitOps
    python pipeline.py submit     # a run on a Data Science Pipelines server

Compiling needs only kfp and kfp-kubernetes: the components import their heavy dependencies
inside their bodies, which run in the project's image. (No `from __future__ import annotations`
here: KFP reads the annotations as objects.)
"""
import argparse
import contextlib
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import List, NamedTuple, Optional

from kfp import compiler, dsl, kubernetes
from kfp import components as kfp_components

from components import (
    count_replay,
    count_tokens,
    fetch_tokenizer,
    gather_samples,
    load_summaries,
    mix_cut,
    plan_cuts,
    select_cut,
    shard_indices,
)
from components.image import IMAGE
from knowledge_mixing.environment import settings_from_environment
from knowledge_mixing.recipe import Recipe, apply_recipe, recipe_from_text
from knowledge_mixing.sampling import ParameterError, parse_cut_sizes, validate_shards
from knowledge_mixing.sets import FLOW_IDS, SET_NAMES
from knowledge_mixing.summary import run_summary, summary_table
from knowledge_mixing.tokens import BUNDLED_TOKENIZER

HERE = Path(__file__).resolve().parent
EXAMPLE_INPUT = HERE / "examples" / "step_03"
DEFAULT_PIPELINE_FILE = "knowledge_mixing_pipeline.yaml"
DEFAULT_WORKSPACE_SIZE = "100Gi"
HF_TOKEN_ENV = "HF_TOKEN"
LLM_ENV = ("LLM_API_KEY", "LLM_API_BASE")
"""What the kfp-components `sdg` component reads to reach its teacher model."""

# The mixing parameters, the same on every pipeline that runs the stage and on `run`/`submit`.
DEFAULT_CUT_SIZES = list(Recipe().cut_sizes)
DEFAULT_QA_PER_DOC = Recipe().qa_per_doc
DEFAULT_SEED = Recipe().seed
MIXING_PARAMETERS = (
    ("cut_sizes", List[int], DEFAULT_CUT_SIZES),
    ("qa_per_doc", int, DEFAULT_QA_PER_DOC),
    ("seed", int, DEFAULT_SEED),
    ("save_gpt_oss_format", bool, False),
    ("train_cut", int, 0),
    ("trust_remote_code", bool, False),
    ("shards", int, 1),
    ("recipe", str, ""),
)


class MixingOutputs(NamedTuple):
    cuts: List[dsl.Dataset]
    validation_cuts: List[dsl.Dataset]
    training_dataset: dsl.Dataset
    summaries: dsl.Dataset
    plan: dsl.Artifact
    samples: dsl.Dataset


# ---------------------------------------------------------------------------- cluster settings


@dataclass(frozen=True)
class ClusterSettings:
    """Kubernetes settings of the mixing tasks, fixed when the pipeline is compiled."""

    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "2Gi"
    memory_limit: str = "8Gi"
    hf_token_secret: str = "hf-token"
    llm_secret: str = "llm-credentials"
    """Secret whose keys LLM_API_KEY and LLM_API_BASE reach the generation tasks (the teacher
    endpoint the `sdg` component calls); optional: absent is fine."""
    """Secret whose key HF_TOKEN becomes the tasks' HF_TOKEN (optional: absent is fine)."""
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
                                         secret_key_to_env={HF_TOKEN_ENV: HF_TOKEN_ENV},
                                         optional=True)
        return task

    def prepare_generation(self, task: dsl.PipelineTask) -> dsl.PipelineTask:
        """A generation task gets the volume (its seed data may live there) and the teacher
        endpoint's key and base URL from the secret."""
        self.mount_volume(task)
        if self.llm_secret:
            kubernetes.use_secret_as_env(task, secret_name=self.llm_secret,
                                         secret_key_to_env={key: key for key in LLM_ENV},
                                         optional=True)
        return task


# ---------------------------------------------------------------------------- the mixing stage


INPUT_SOURCES = {"step03": dsl.Artifact, **{name: dsl.Dataset for name in SET_NAMES}}
"""Where the knowledge sets can come from: the generation step's folder (one sub-folder per
set), or one Dataset per set (a JSONL file or a folder of them, as a per-flow `sdg` task writes)."""


def check_sources(sources: tuple) -> tuple:
    unknown = [s for s in sources if s not in INPUT_SOURCES]
    if unknown or not sources or len(set(sources)) != len(sources):
        raise ParameterError(f"inputs {list(sources)}: give one or more of "
                             f"{', '.join(INPUT_SOURCES)}, each once")
    return tuple(sources)


def build_mixing_stage(settings: ClusterSettings = ClusterSettings(),
                       sources: tuple = ("step03",)):
    """The mixing stage as a sub-pipeline: the knowledge sets (the step-03 folder, or Datasets
    per set: `sources` names which inputs it has) + tokenizer files in, one dataset per
    feasible cut and the training dataset out."""
    sources = check_sources(sources)
    mixing_names = [name for name, _, _ in MIXING_PARAMETERS]

    def knowledge_mixing_stage(*values) -> MixingOutputs:
        args = dict(zip(signature_names, values))
        loaded = settings.apply(load_summaries(
            save_gpt_oss_format=args["save_gpt_oss_format"],
            **{source: args[source] for source in sources}))
        planned = settings.apply(plan_cuts(summaries=loaded.outputs["summaries"],
                                           cut_sizes=args["cut_sizes"],
                                           qa_per_doc=args["qa_per_doc"], seed=args["seed"],
                                           recipe=args["recipe"], shards=args["shards"]))
        replay = settings.apply(count_replay(tokenizer_files=args["tokenizer_files"],
                                             plan=planned.outputs["plan"],
                                             trust_remote_code=args["trust_remote_code"]))
        sharding = settings.apply(shard_indices(shards=args["shards"]))
        with dsl.ParallelFor(sharding.output, name="shard") as shard:
            counted = settings.apply(count_tokens(
                summaries=loaded.outputs["summaries"],
                tokenizer_files=args["tokenizer_files"],
                plan=planned.outputs["plan"],
                save_gpt_oss_format=args["save_gpt_oss_format"],
                trust_remote_code=args["trust_remote_code"],
                shard=shard,
                shards=args["shards"],
            ))
        # KFP cannot hand a collection from one loop to the tasks of another: gather first.
        gathered = settings.apply(gather_samples(shards=dsl.Collected(counted.outputs["samples"])))
        with dsl.ParallelFor(planned.outputs["Output"], name="cut") as cut:
            mixed = settings.apply(mix_cut(samples=gathered.outputs["samples"],
                                           replay=replay.outputs["replay"],
                                           plan=planned.outputs["plan"], cut=cut))
        chosen = settings.apply(select_cut(cuts=dsl.Collected(mixed.outputs["mixed"]),
                                           train_cut=args["train_cut"]))
        return MixingOutputs(
            cuts=dsl.Collected(mixed.outputs["mixed"]),
            validation_cuts=dsl.Collected(mixed.outputs["validation"]),
            training_dataset=chosen.outputs["training_dataset"],
            summaries=loaded.outputs["summaries"],
            plan=planned.outputs["plan"],
            samples=gathered.outputs["samples"],
        )

    inputs = [(source, dsl.Input[INPUT_SOURCES[source]]) for source in sources]
    inputs.append(("tokenizer_files", dsl.Input[dsl.Artifact]))
    signature_names = [name for name, _ in inputs] + mixing_names
    knowledge_mixing_stage.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)
         for name, annotation in inputs]
        + [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation,
                             default=default) for name, annotation, default in MIXING_PARAMETERS],
        return_annotation=MixingOutputs)
    return dsl.pipeline(
        name="knowledge-mixing-stage",
        description="Knowledge sets (the step-03 folder or one Dataset per set) → one "
        "training-ready chat JSONL per feasible cut size, and the cut the training step uses.",
    )(knowledge_mixing_stage)


knowledge_mixing_stage = build_mixing_stage()
"""The stage with default cluster settings, to use inside your own pipeline (give it the
`tokenizer_files` of `components.fetch_tokenizer` or of an importer)."""


# ---------------------------------------------------------------------------- plug-in steps

PARAMETER_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool,
                   "List": list, "Dict": dict}


@dataclass(frozen=True)
class PipelineParameter:
    """A pipeline parameter that feeds one input of a plug-in component."""

    name: str
    component_input: str
    annotation: object
    default: object = inspect.Parameter.empty


@dataclass(frozen=True)
class PluginStep:
    """A generation or training component we wire but do not own (installed or from YAML)."""

    component: object
    description: str
    parameters: tuple = ()
    wired_input: str = ""
    """Training: the Dataset input that receives the selected cut."""
    wired_output: str = ""
    """Generation: the output that carries the step-03 folder, or (per flow) the set's JSONL."""
    per_flow: bool = False
    """Generation: one task per knowledge flow (the `sdg` component, chosen by `flow_id`)."""
    takes_workspace_path: bool = False
    """The component has a `pvc_path` input (Training Hub's train_model): give it the workspace."""


def load_component(source: str):
    """A component from a compiled component YAML file, with errors that name the file."""
    path = Path(source)
    if not path.is_file():
        raise ParameterError(f"{source}: no such component YAML file")
    try:
        return kfp_components.load_component_from_file(str(path))
    except Exception as e:  # kfp raises several types for a file that is not a component
        raise ParameterError(f"{source}: not a KFP component YAML file ({e})") from e


def plugin_parameters(component, prefix: str, skip: set) -> tuple:
    """Every parameter input of the component becomes a pipeline parameter named `prefix` +
    input (unless it already starts so), with the component's default."""
    parameters = []
    for name, spec in component.component_spec.inputs.items():
        if name in skip:
            continue
        python_type = PARAMETER_TYPES.get(spec.type)
        if python_type is None:  # an artifact, or a KFP-internal type such as TaskConfig
            if spec.optional:
                continue
            raise ParameterError(
                f"component {component.name!r}: required input {name!r} of type {spec.type} "
                "cannot be fed by this pipeline; give it a default or wrap the component")
        default = spec.default
        if python_type is int and isinstance(default, float):  # YAML defaults come back as floats
            default = int(default)
        if default is None and spec.optional:
            annotation, default = Optional[python_type], None
        else:
            annotation = python_type
            default = inspect.Parameter.empty if default is None else default
        pipeline_name = name if name.startswith(prefix) else prefix + name
        parameters.append(PipelineParameter(pipeline_name, name, annotation, default))
    return tuple(parameters)


def training_step(source: str) -> Optional[PluginStep]:
    """`auto`: Training Hub's train_model when its package is installed; `none`; or a YAML file."""
    chosen = plugin_component(source, TRAIN_MODEL_MODULES, "train_model", "training")
    if chosen is None:
        return None
    component, description = chosen
    dataset_inputs = [n for n, s in component.component_spec.inputs.items()
                      if s.type.startswith("system.Dataset")]
    wired = "dataset" if "dataset" in dataset_inputs else (
        dataset_inputs[0] if len(dataset_inputs) == 1 else None)
    if wired is None:
        raise ParameterError(
            f"training component {component.name!r} ({source}): needs one Dataset input (or one "
            f"named `dataset`) for the mixed JSONL; it has {dataset_inputs or 'none'}")
    return PluginStep(component, description,
                      plugin_parameters(component, "training_", {wired, "pvc_path"}),
                      wired_input=wired,
                      takes_workspace_path="pvc_path" in component.component_spec.inputs)


def plugin_component(source: str, modules: tuple, name: str, kind: str):
    """(component, description) for a plug-in source: `none` → None; `auto` → the kfp-components
    package's `name` if that package is installed (looked up in each module it has lived in),
    else None; anything else → a component YAML file."""
    if source == "none":
        return None
    if source != "auto":
        return load_component(source), f"{kind} component from {source}"
    for module in modules:
        try:
            component = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if component is not None:
            return component, f"{name} from the installed kfp-components package"
    return None


TRAIN_MODEL_MODULES = ("kfp_components.components.training.sft",
                       "kfp_components.components.training.sft.component")
SDG_MODULES = ("kfp_components.components.data_processing.sdg.sdg_hub",
               "kfp_components.components.data_processing.sdg.sdg_hub.component")


REPORT_TYPES = ("system.Metrics", "system.ClassificationMetrics",
                "system.SlicedClassificationMetrics", "system.HTML", "system.Markdown")


def generation_step(source: str) -> Optional[PluginStep]:
    """`auto`: the kfp-components `sdg` component when its package is installed; `none`; or a
    component YAML. A component with a `flow_id` input runs once per knowledge flow, its Dataset
    output feeding that set's input; any other must have one artifact output, the step-03 folder."""
    chosen = plugin_component(source, SDG_MODULES, "sdg", "generation")
    if chosen is None:
        return None
    component, description = chosen
    outputs = {n: s.type for n, s in component.component_spec.outputs.items()
               if s.type.startswith("system.") and not s.type.startswith(REPORT_TYPES)}
    per_flow = "flow_id" in component.component_spec.inputs
    if per_flow:
        datasets = [n for n, t in outputs.items() if t.startswith("system.Dataset")]
        if len(datasets) != 1:
            raise ParameterError(
                f"generation component {component.name!r} ({source}): takes `flow_id`, so it runs "
                f"once per knowledge flow and needs exactly one Dataset output (the flow's JSONL); "
                f"it has {datasets or 'none'}")
        return PluginStep(component, f"{description}, one task per knowledge flow",
                          plugin_parameters(component, "generation_", {"flow_id", "flow_yaml_path"}),
                          wired_output=datasets[0], per_flow=True)
    if len(outputs) != 1:
        raise ParameterError(
            f"generation component {component.name!r} ({source}): needs exactly one artifact "
            f"output (the step-03 folder), or a `flow_id` input (one task per flow); it has "
            f"{list(outputs) or 'no artifact output'}")
    return PluginStep(component, description, plugin_parameters(component, "generation_", set()),
                      wired_output=next(iter(outputs)))


# ---------------------------------------------------------------------------- the pipelines


@dataclass(frozen=True)
class PipelineOptions:
    """What a compiled pipeline contains; everything else is a run parameter."""

    settings: ClusterSettings = field(default_factory=ClusterSettings)
    tokenizer_from_uri: bool = False
    """Disconnected clusters: the tokenizer files come from an artifact URI (`tokenizer_uri`)."""
    generation: Optional[PluginStep] = None
    training: Optional[PluginStep] = None
    sources: tuple = ("step03",)
    """Without a generation step: the inputs imported by URI (`step03_uri`, `<set>_uri`)."""

    def input_sources(self) -> tuple:
        if self.generation:
            return SET_NAMES if self.generation.per_flow else ("step03",)
        return check_sources(self.sources)


def build_pipeline(options: PipelineOptions = PipelineOptions()):
    """The pipeline users compile and run: step-03 source → tokenizer → mixing stage →
    (training). Its parameters depend on the options (plug-in components bring theirs), so the
    signature is assembled here; KFP reads it through `__signature__`."""
    settings = options.settings
    sources = options.input_sources()
    parameters = []
    if options.generation:
        parameters += [(p.name, p.annotation, p.default) for p in options.generation.parameters]
    else:
        parameters += [(f"{source}_uri", str, inspect.Parameter.empty) for source in sources]
    if options.tokenizer_from_uri:
        parameters.append(("tokenizer_uri", str, inspect.Parameter.empty))
    else:
        parameters.append(("tokenizer", str, BUNDLED_TOKENIZER))
    parameters += MIXING_PARAMETERS
    if options.training:
        parameters += [(p.name, p.annotation, p.default) for p in options.training.parameters]
    names = [name for name, _, _ in parameters]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ParameterError(f"pipeline parameters {duplicates} would be defined twice; rename "
                             "the plug-in component's inputs")
    mixing_names = [name for name, _, _ in MIXING_PARAMETERS]
    # pipelines cannot be defined inside pipelines
    mixing_stage = build_mixing_stage(settings, sources)

    def wire(*values) -> MixingOutputs:
        args = dict(zip(signature_names, values))
        generation = options.generation
        if generation:
            given = {p.component_input: args[p.name] for p in generation.parameters}
            if generation.per_flow:  # one task per knowledge flow, each feeding its set
                knowledge = {}
                for name in sources:
                    task = settings.prepare_generation(
                        generation.component(flow_id=FLOW_IDS[name], **given))
                    task.set_display_name(f"generate {name}")
                    knowledge[name] = task.outputs[generation.wired_output]
            else:
                task = settings.prepare_generation(generation.component(**given))
                knowledge = {"step03": task.outputs[generation.wired_output]}
        else:
            knowledge = {source: dsl.importer(artifact_uri=args[f"{source}_uri"],
                                              artifact_class=INPUT_SOURCES[source],
                                              reimport=False).output for source in sources}
        if options.tokenizer_from_uri:
            tokenizer_files = dsl.importer(artifact_uri=args["tokenizer_uri"],
                                           artifact_class=dsl.Artifact, reimport=False).output
        else:
            fetched = settings.give_hub_token(settings.apply(fetch_tokenizer(
                tokenizer=args["tokenizer"], trust_remote_code=args["trust_remote_code"])))
            tokenizer_files = fetched.outputs["tokenizer_files"]
        stage = mixing_stage(tokenizer_files=tokenizer_files, **knowledge,
                             **{name: args[name] for name in mixing_names})
        if options.training:
            training = options.training
            inputs = {p.component_input: args[p.name] for p in training.parameters}
            inputs[training.wired_input] = stage.outputs["training_dataset"]
            if training.takes_workspace_path:
                inputs["pvc_path"] = dsl.WORKSPACE_PATH_PLACEHOLDER
            settings.give_hub_token(training.component(**inputs))
        return MixingOutputs(cuts=stage.outputs["cuts"],
                             validation_cuts=stage.outputs["validation_cuts"],
                             training_dataset=stage.outputs["training_dataset"],
                             summaries=stage.outputs["summaries"],
                             plan=stage.outputs["plan"],
                             samples=stage.outputs["samples"])

    ordered = sorted(parameters, key=lambda p: p[2] is not inspect.Parameter.empty)
    signature_names = [name for name, _, _ in ordered]
    wire.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation,
                           default=default) for name, annotation, default in ordered],
        return_annotation=MixingOutputs)
    steps = [s.description for s in (options.generation, options.training) if s]
    workspace = settings.workspace_size or (
        DEFAULT_WORKSPACE_SIZE if options.training and options.training.takes_workspace_path else "")
    return dsl.pipeline(
        name="knowledge-tuning" if steps else "knowledge-mixing",
        description="Knowledge mixing of the generation step's knowledge sets"
        + (f", with {' and '.join(steps)}" if steps else "")
        + ": one training-ready chat JSONL per feasible cut size.",
        pipeline_config=dsl.PipelineConfig(workspace=dsl.WorkspaceConfig(size=workspace))
        if workspace else None,
    )(wire)


def compile_pipeline(pipeline, package_path: str, image: str = IMAGE) -> None:
    """Compile; with another image, point every task of ours at it (the SDK and the image are
    released together, so only the registry or tag should differ)."""
    compiler.Compiler().compile(pipeline, package_path)
    if image != IMAGE:
        text = Path(package_path).read_text()
        retargeted, count = re.subn(rf"(\bimage: ){re.escape(IMAGE)}$", rf"\g<1>{image}", text,
                                    flags=re.MULTILINE)
        assert count, f"no task uses {IMAGE}"
        Path(package_path).write_text(retargeted)


# ---------------------------------------------------------------------------- local run


class LocalRunError(RuntimeError):
    """A task of a local run failed; the message carries the task's own error line."""


class ErrorWatcher:
    """Passes the local runner's task logs through to the terminal and remembers the last
    exception line (`SomeError: message`), so a failed run can end with the cause, not only
    with the name of the failed task."""

    EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception)): (.+)$")

    def __init__(self, stream):
        self.stream, self.last_error = stream, None

    def write(self, text: str) -> int:
        for line in text.splitlines():
            match = self.EXCEPTION_LINE.match(line)
            if match:
                self.last_error = f"{match.group(1)}: {match.group(2)}"
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def run_locally(sources: dict, output_dir: Path, parameters: dict) -> dict:
    """Run the real pipeline with the KFP local runner on `sources` (`step03` and/or set names →
    paths, imported by URI) and gather its outputs in output_dir."""
    from kfp import local

    # The local runner warns that our base image may not be Python (it is, and locally the
    # components run on this environment's installed copy of the same code) and that cluster
    # resources do not apply on this machine.
    warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
    warnings.filterwarnings("ignore", message=".*have no effect in the current local runner")
    with tempfile.TemporaryDirectory(prefix="knowledge-mixing-") as pipeline_root:
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=pipeline_root)
        watcher = ErrorWatcher(sys.stdout)
        try:
            with contextlib.redirect_stdout(watcher):
                outputs = build_pipeline(PipelineOptions(sources=tuple(sources)))(
                    **{f"{name}_uri": str(path.resolve()) for name, path in sources.items()},
                    **parameters).outputs
        except RuntimeError as e:
            cause = f"\n{watcher.last_error}" if watcher.last_error else ""
            raise LocalRunError(f"{e}{cause}") from e
        output_dir.mkdir(parents=True, exist_ok=True)
        plan = json.loads(Path(outputs["plan"].path).read_text(encoding="utf-8"))
        cut_reports = [dict(artifact.metadata) for artifact in outputs["cuts"]]
        written = []
        for artifact, validation in zip(outputs["cuts"], outputs["validation_cuts"]):
            written.append(artifact.metadata["file_name"])
            shutil.copyfile(artifact.path, output_dir / written[-1])
            if plan["recipe"]["validation_fraction"]:
                written.append(validation.metadata["file_name"])
                shutil.copyfile(validation.path, output_dir / written[-1])
        summary = run_summary(parameters, dict(outputs["summaries"].metadata), plan,
                              dict(outputs["samples"].metadata), cut_reports,
                              outputs["training_dataset"].metadata["cut"])
    for pattern in ("combined_cut_*x.jsonl", "validation_cut_*x.jsonl"):
        for stale in output_dir.glob(pattern):
            if stale.name not in written:
                print(f"removing {stale}: left by an earlier run, not produced by this one")
                stale.unlink()
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# ---------------------------------------------------------------------------- submit


class SubmitError(RuntimeError):
    """The run could not be created; the message says why and what to do."""


def bearer_token(explicit: Optional[str]) -> str:
    """--token, else KFP_TOKEN, else the logged-in `oc` user's token."""
    if explicit:
        return explicit
    if os.environ.get("KFP_TOKEN"):
        return os.environ["KFP_TOKEN"]
    if shutil.which("oc"):
        result = subprocess.run(["oc", "whoami", "-t"], capture_output=True, text=True,
                                timeout=30)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    raise SubmitError("no token: pass --token, set KFP_TOKEN, or log in with `oc login` so that "
                      "`oc whoami -t` prints one")


def check_server(host: str, token: str) -> None:
    """One quick authenticated request, so a wrong host or token fails at once and says which
    (the KFP client itself retries for half a minute and reports a 401 as a health problem)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{host}/apis/v2beta1/healthz",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=15):
            return
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise SubmitError(f"{host} refused the token (HTTP {e.code}); get a fresh one with "
                              "`oc whoami -t` or check your access to the project") from e
        raise SubmitError(f"{host} answered HTTP {e.code} to the health check; is it the Data "
                          "Science Pipelines route?") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise SubmitError(f"cannot reach the pipelines server at {host} ({e}); pass the Data "
                          "Science Pipelines route as --host (https://ds-pipeline-...)") from e


def submit_run(host: str, token: str, package_path: str, arguments: dict, experiment: str,
               run_name: str) -> str:
    """Create a run of the compiled pipeline; return its URL in the Data Science Pipelines UI."""
    import kfp
    from kfp_server_api.exceptions import ApiException

    host = host.rstrip("/")
    check_server(host, token)
    warnings.filterwarnings("ignore", message="This client only works with Kubeflow Pipeline")
    try:
        client = kfp.Client(host=host, existing_token=token)
        run = client.create_run_from_pipeline_package(
            package_path, arguments=arguments, run_name=run_name, experiment_name=experiment)
    except ApiException as e:
        raise SubmitError(f"{host} answered HTTP {e.status} ({e.reason}): {e.body}") from e
    return f"{host}/#/runs/details/{run.run_id}"


# ---------------------------------------------------------------------------- command line


def add_mixing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", type=Path, metavar="FILE.yaml",
                        help="mixing recipe, YAML or JSON (seed, cut_sizes, qa_per_doc, sets, "
                        "replay, max_seq_len, target_tokens, shuffle, validation_fraction); the "
                        "flags below override single keys")
    parser.add_argument("--cut-sizes",
                        help="comma-separated summaries per raw document, one output per cut "
                        f"(default: {','.join(map(str, DEFAULT_CUT_SIZES))})")
    parser.add_argument("--qa-per-doc", type=int,
                        help=f"Q&A pairs kept per sampled summary (default: {DEFAULT_QA_PER_DOC})")
    parser.add_argument("--seed", type=int,
                        help=f"seed of every seeded choice (default: {DEFAULT_SEED})")
    parser.add_argument("--weight", action="append", default=[], metavar="SET=WEIGHT",
                        help="weight of a knowledge set: 2 doubles it, 0.5 keeps a seeded half, "
                        "0 leaves it out (repeatable)")
    parser.add_argument("--replay", action="append", default=[], metavar="FILE.jsonl=RATIO",
                        help="chat JSONL mixed in at RATIO × the cut's knowledge tokens "
                        "(repeatable; replaces the recipe's replay list)")
    parser.add_argument("--max-seq-len", type=int,
                        help="drop (and count) samples of this many tokens or more")
    parser.add_argument("--target-tokens", type=int,
                        help="scale the knowledge sets to about this many tokens per cut")
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=None,
                        help="seeded shuffle of each cut's rows (default: off)")
    parser.add_argument("--validation-fraction", type=float,
                        help="seeded share of Q&A rows held out to validation_cut_{N}x.jsonl")
    parser.add_argument("--tokenizer",
                        help="student tokenizer: a hub model id or a local directory (default: "
                        f"{BUNDLED_TOKENIZER}, the Qwen tokenizer shipped with the project)")
    parser.add_argument("--save-gpt-oss-format", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="drop template-echo questions and write reasoning as `thinking` "
                        "(default: off)")
    parser.add_argument("--train-cut", type=int, default=0,
                        help="cut handed to training (default 0: the largest feasible)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow a hub tokenizer to run its own code")
    parser.add_argument("--shards", type=int, default=1,
                        help="token-counting tasks, each taking the rows of a share of the raw "
                        "documents; the output is the same bytes (default: %(default)s)")


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", default=IMAGE,
                        help="image of the mixing tasks (default: %(default)s; or set "
                        "KNOWLEDGE_MIXING_IMAGE)")
    parser.add_argument("--training-component", default="auto", metavar="auto|none|FILE.yaml",
                        help="training step after mixing: `auto` uses Training Hub's train_model "
                        "when kfp-components is installed, `none` ends at the datasets, or a "
                        "compiled component YAML (default: %(default)s)")
    parser.add_argument("--generation-component", default="auto", metavar="auto|none|FILE.yaml",
                        help="generation step before mixing: `auto` uses the kfp-components `sdg` "
                        "component (one task per knowledge flow) when its package is installed, "
                        "`none` imports the inputs by URI, or a compiled component YAML: with a "
                        "`flow_id` input it runs once per flow, else its one artifact output is "
                        "the step-03 folder (default: %(default)s)")
    parser.add_argument("--inputs", default="step03", metavar="step03|SET[,SET...]",
                        help="without a generation step: what the pipeline imports, each from a "
                        "URI parameter `<name>_uri`: the step-03 folder, or one JSONL Dataset per "
                        f"set ({', '.join(SET_NAMES)}) (default: %(default)s)")
    parser.add_argument("--tokenizer-from-uri", action="store_true",
                        help="take the tokenizer files from an artifact URI (parameter "
                        "tokenizer_uri) instead of a hub id: for clusters without hub access")
    defaults = ClusterSettings()
    for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        parser.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name),
                            help="of every mixing task (default: %(default)s)")
    parser.add_argument("--hf-token-secret", default=defaults.hf_token_secret,
                        help="Kubernetes secret whose key HF_TOKEN is given to the tasks that "
                        "reach the hub; '' for none (default: %(default)s)")
    parser.add_argument("--llm-secret", default=defaults.llm_secret,
                        help="Kubernetes secret whose keys LLM_API_KEY and LLM_API_BASE are given "
                        "to the generation tasks; '' for none (default: %(default)s)")
    parser.add_argument("--pvc", default="",
                        help="existing PVC to mount in the mixing and generation tasks")
    parser.add_argument("--pvc-mount-path", default=defaults.pvc_mount_path,
                        help="where --pvc is mounted (default: %(default)s)")
    parser.add_argument("--workspace-size", default="",
                        help="size of the KFP workspace PVC (default: none, or "
                        f"{DEFAULT_WORKSPACE_SIZE} when the training step needs one)")


def options_from_arguments(args: argparse.Namespace) -> PipelineOptions:
    settings = ClusterSettings(
        cpu_request=args.cpu_request, cpu_limit=args.cpu_limit,
        memory_request=args.memory_request, memory_limit=args.memory_limit,
        hf_token_secret=args.hf_token_secret, llm_secret=args.llm_secret, pvc=args.pvc,
        pvc_mount_path=args.pvc_mount_path,
        workspace_size=args.workspace_size)
    return PipelineOptions(
        settings=settings, tokenizer_from_uri=args.tokenizer_from_uri,
        sources=check_sources(tuple(s.strip() for s in args.inputs.split(","))),
        generation=generation_step(args.generation_component),
        training=training_step(args.training_component))


def named_value(text: str, flag: str, convert=float) -> tuple:
    """NAME=VALUE of a repeatable flag, split at the last `=`."""
    name, sep, value = text.rpartition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, convert(value)
    except ValueError:
        raise ParameterError(f"{flag} {text!r}: expected NAME=NUMBER") from None


def command_line_recipe(args: argparse.Namespace, environment: dict, local_paths: bool) -> Recipe:
    """The defaults, under the environment's settings, under the recipe file (if any), under the
    flags. With `local_paths`, replay paths become absolute: a file's relative to the recipe's
    folder, a flag's relative to the working directory (the tasks run elsewhere)."""
    recipe = apply_recipe({key: value for key, (value, _) in environment.items()
                           if key in ("cut_sizes", "qa_per_doc", "seed")}, source="environment")
    if args.recipe:
        try:
            text = args.recipe.read_text(encoding="utf-8")
        except OSError as e:
            raise ParameterError(f"--recipe {args.recipe}: cannot read it ({e.strerror})") from e
        recipe = recipe_from_text(text, recipe, source=str(args.recipe))
        if local_paths:
            folder = args.recipe.resolve().parent
            recipe = replace(recipe, replay=tuple(
                replace(r, path=str(folder / Path(r.path).expanduser())) for r in recipe.replay))
    flags = {
        "cut_sizes": args.cut_sizes and parse_cut_sizes(args.cut_sizes, "--cut-sizes"),
        "qa_per_doc": args.qa_per_doc,
        "seed": args.seed,
        "sets": dict(named_value(w, "--weight") for w in args.weight) or None,
        "replay": [{"path": str(Path(p).resolve()) if local_paths else p, "token_ratio": r}
                   for p, r in (named_value(r, "--replay") for r in args.replay)] or None,
        "max_seq_len": args.max_seq_len,
        "target_tokens": args.target_tokens,
        "shuffle": args.shuffle,
        "validation_fraction": args.validation_fraction,
    }
    return apply_recipe({k: v for k, v in flags.items() if v is not None}, recipe,
                        source="command line")


def run_settings(args: argparse.Namespace, environ: dict, local_paths: bool) -> dict:
    """Every mixing parameter and the tokenizer of a run: a flag wins over the environment's
    variable (TOKENIZER_MODEL, CUT_SIZES, ...), which wins over the default. The `recipe`
    parameter holds the whole effective recipe, so the run records it; cut_sizes, qa_per_doc and
    seed repeat its values."""
    environment = settings_from_environment(environ)
    if environment:
        print("settings from the environment (flags win): " + ", ".join(
            f"{variable}={environ[variable]}" for _, variable in environment.values()))
    recipe = command_line_recipe(args, environment, local_paths)

    def chosen(flag, setting, default):
        return flag if flag is not None else environment.get(setting, (default,))[0]

    return {
        "tokenizer": chosen(args.tokenizer, "tokenizer", BUNDLED_TOKENIZER),
        "cut_sizes": list(recipe.cut_sizes),
        "qa_per_doc": recipe.qa_per_doc,
        "seed": recipe.seed,
        "save_gpt_oss_format": chosen(args.save_gpt_oss_format, "save_gpt_oss_format", False),
        "train_cut": args.train_cut,
        "trust_remote_code": args.trust_remote_code,
        "shards": validate_shards(args.shards),
        "recipe": recipe.to_json(),
    }


def parse_param(text: str) -> tuple:
    """NAME=VALUE; VALUE is read as JSON when it parses (numbers, booleans, lists)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--param {text!r}: expected NAME=VALUE")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole pipeline on this machine")
    run.add_argument("--input", type=Path,
                     help="step-03 folder (default: the example data in examples/step_03, unless "
                     "per-set inputs are given)")
    for name in SET_NAMES:
        run.add_argument(f"--{name.replace('_', '-')}", type=Path, metavar="FILE.jsonl|FOLDER",
                         help=f"the {name} set as its own JSONL file or folder of JSONL files "
                         f"(sdg_hub flow {FLOW_IDS[name]}), instead of the step-03 folder's")
    run.add_argument("--output", type=Path, default=Path("output") / "mixed",
                     help="folder for combined_cut_{N}x.jsonl and summary.json "
                     "(default: %(default)s)")
    add_mixing_arguments(run)

    comp = commands.add_parser("compile", help="write the pipeline YAML")
    comp.add_argument("-o", "--output", type=Path, default=Path(DEFAULT_PIPELINE_FILE),
                      help="YAML file to write (default: %(default)s)")
    add_compile_arguments(comp)

    sub = commands.add_parser("submit", help="create a run on a Data Science Pipelines server")
    sub.add_argument("--host", required=True, help="the Data Science Pipelines route (https://...)")
    sub.add_argument("--token", help="bearer token (default: KFP_TOKEN, else `oc whoami -t`)")
    sub.add_argument("--experiment", default="knowledge-mixing",
                     help="experiment of the run (default: %(default)s)")
    sub.add_argument("--run-name", default="", help="name of the run (default: generated)")
    sub.add_argument("--step03-uri", help="URI of the step-03 artifact (s3://...)")
    sub.add_argument("--tokenizer-uri", help="with --tokenizer-from-uri: URI of tokenizer files")
    sub.add_argument("--param", type=parse_param, action="append", default=[],
                     metavar="NAME=VALUE", help="any other pipeline parameter, e.g. of training")
    add_mixing_arguments(sub)
    add_compile_arguments(sub)

    args = parser.parse_args(argv)
    try:
        if args.command == "compile":
            compile_pipeline(build_pipeline(options_from_arguments(args)), str(args.output),
                             args.image)
            print(f"wrote {args.output}")
            return 0
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)  # the notebook's settings file
        parameters = run_settings(args, dict(os.environ), local_paths=args.command == "run")
    except ParameterError as e:
        parser.error(str(e))

    if args.command == "submit":
        return submit(parser, args, parameters)

    sources = {name: getattr(args, name) for name in SET_NAMES if getattr(args, name)}
    if args.input or not sources:
        sources = {"step03": args.input or EXAMPLE_INPUT, **sources}
    for name, path in sources.items():
        if name == "step03" and not path.is_dir():
            parser.error(f"--input {path}: not a directory; pass the step-03 folder")
        if not path.exists():
            parser.error(f"--{name.replace('_', '-')} {path}: no such file or folder")
    try:
        summary = run_locally(sources, args.output, parameters)
    except LocalRunError as e:
        print(f"\nknowledge mixing failed: {e}\nThe failing task's log is above.", file=sys.stderr)
        return 1
    print("\n" + summary_table(summary))
    print(f"\nwrote {len(summary['cuts'])} cut(s) and summary.json to {args.output}")
    return 0


def submit(parser: argparse.ArgumentParser, args: argparse.Namespace, parameters: dict) -> int:
    try:
        options = options_from_arguments(args)
        pipeline = build_pipeline(options)
    except ParameterError as e:
        parser.error(str(e))
    arguments = dict(parameters)
    if args.tokenizer_from_uri:
        del arguments["tokenizer"]
        arguments["tokenizer_uri"] = args.tokenizer_uri
    if not options.generation:
        arguments.update({f"{source}_uri": args.step03_uri if source == "step03" else None
                          for source in options.input_sources()})
    arguments.update(dict(args.param))
    missing = [name for name, value in arguments.items() if value is None]
    if missing:
        parser.error("give " + ", ".join(
            f"--{m.replace('_', '-')}" if m in ("step03_uri", "tokenizer_uri") else f"--param {m}=URI"
            for m in missing))
    try:
        token = bearer_token(args.token)
        with tempfile.TemporaryDirectory() as folder:
            package = os.path.join(folder, "pipeline.yaml")
            compile_pipeline(pipeline, package, args.image)
            run_name = args.run_name or f"{pipeline.name} {time.strftime('%Y-%m-%d %H-%M-%S')}"
            url = submit_run(args.host, token, package, arguments, args.experiment, run_name)
    except SubmitError as e:
        print(f"submit failed: {e}", file=sys.stderr)
        return 1
    print(f"run created: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
