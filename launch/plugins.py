"""Plug-in steps: the generation and training components we wire but do not own, imported from
an installed package (the kfp-components package of the Kubeflow / Red Hat pipelines-components
repository, or any MODULE:ATTR) or loaded from a compiled component YAML file."""
import importlib
import importlib.metadata
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from knowledge_mixing.errors import ParameterError

PARAMETER_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool,
                   "List": list, "Dict": dict}
PACKAGE = "kfp-components"
"""The distribution that ships train_model and sdg (installed from the pipelines-components
repository; the name on PyPI holds only an empty placeholder)."""
TRAINING_COMPONENTS = {
    algorithm: f"kfp_components.components.training.finetuning.{algorithm}:train_model"
    for algorithm in ("sft", "osft", "lora")}
"""`--training-component sft|osft|lora`: Training Hub's train_model of each algorithm."""
AUTO_TRAINING = TRAINING_COMPONENTS["sft"]
AUTO_GENERATION = "kfp_components.components.data_processing.sdg.component:sdg"
"""The sdg component (its package's `__init__` exports nothing: import it from `component`)."""
MODULE_FORM = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
SEED_DATA = ("uri", "pvc")
"""Where the generation tasks read their seed data: an artifact imported from `seed_data_uri`,
or a path on the mounted PVC (`generation_input_pvc_path`)."""
REPORT_TYPES = ("system.Metrics", "system.ClassificationMetrics",
                "system.SlicedClassificationMetrics", "system.HTML", "system.Markdown")


@dataclass(frozen=True)
class PipelineParameter:
    """A pipeline parameter that feeds one input of a plug-in component."""

    name: str
    component_input: str
    annotation: object
    default: object = inspect.Parameter.empty


@dataclass(frozen=True)
class PluginStep:
    """A generation or training component we wire but do not own."""

    component: object
    origin: str
    """What was wired, from where: the module and its package's version, or the YAML file."""
    parameters: tuple = ()
    wired_input: str = ""
    """Training: the Dataset input that receives the selected cut."""
    wired_output: str = ""
    """Generation: the output that carries the step-03 folder, or (per flow) the set's JSONL."""
    per_flow: bool = False
    """Generation: one task per knowledge flow (the `sdg` component, chosen by `flow_id`)."""
    seed_input: str = ""
    """Generation: the Dataset input fed from `seed_data_uri` (sdg's `input_artifact`)."""
    training_hub: bool = False
    """Training: it has train_model's `pvc_path` input, so it follows Training Hub's contract:
    the workspace, the cluster credentials and the OCI pull secret."""
    warnings: tuple = ()


class NotInstalled(Exception):
    """The module of a plug-in, or one of its packages, is not installed here."""


def import_component(target: str, option: str):
    """(component, origin) for MODULE:ATTR. Raises NotInstalled when the module itself is
    absent; any other failure is an error naming the option."""
    module_name, attribute = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise NotInstalled(module_name) from e
        raise ParameterError(f"{option}: importing {module_name} failed ({e}); install what it "
                             "needs where you compile") from e
    except Exception as e:  # the plug-in's own code failed: its message says why
        raise ParameterError(f"{option}: importing {module_name} failed "
                             f"({type(e).__name__}: {e})") from e
    if not hasattr(module, attribute):
        raise ParameterError(f"{option}: {module_name} has no attribute {attribute!r}; name the "
                             "component as MODULE:ATTR")
    component = getattr(module, attribute)
    if not hasattr(component, "component_spec"):
        raise ParameterError(f"{option}: {target} is not a KFP component (a @dsl.component)")
    return component, f"{attribute} from {module_name} ({distribution_of(module_name)})"


def distribution_of(module_name: str) -> str:
    """The installed distribution and version a module comes from, as `name version`."""
    names = importlib.metadata.packages_distributions().get(module_name.split(".")[0], [])
    if not names:
        return "not from an installed distribution"
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


def load_component(source: str, option: str):
    """A component from a compiled component YAML file, with errors that name the option."""
    from kfp import components as kfp_components  # here: it imports `requests` (0.1 - 0.2 s)

    path = Path(source)
    if not path.is_file():
        raise ParameterError(f"{option}: no such component YAML file (nor a plug-in name or "
                             "MODULE:ATTR); see --help")
    try:
        component = kfp_components.load_component_from_file(str(path))
    except Exception as e:  # kfp raises several types for a file that is not a component
        raise ParameterError(f"{option}: not a KFP component YAML file ({e})") from e
    return component, f"component {component.name!r} from {source}"


def task_config_fields(documents: list) -> list:
    """The TaskConfig passthroughs compiled YAML documents declare (their fields, then "TaskConfig
    input" for a `TaskConfig` input): kfp's YAML loader drops them, and a backend older than
    OpenShift AI 3.0 refuses them."""
    fields, inputs = [], []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "taskConfigPassthroughs" and isinstance(value, list):
                    fields.extend(item.get("field", "?") for item in value)
                elif key == "parameterType" and value == "TASK_CONFIG":
                    inputs.append("TaskConfig input")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(documents)
    return list(dict.fromkeys(fields + inputs))


def resolve(source: str, option: str, named: dict, auto: str):
    """(component, origin, warnings) for a plug-in option, or None: `none`; `auto` when its
    module is not installed."""
    if source == "none":
        return None
    if source == "auto" or source in named:
        target = auto if source == "auto" else named[source]
        try:
            return (*import_component(target, option + " " + source), ())
        except NotInstalled as e:
            if source == "auto":
                return None
            raise ParameterError(
                f"{option} {source}: {e} is not installed here; install {PACKAGE} from the "
                "pipelines-components repository where you compile (its PyPI name is an empty "
                "placeholder)") from e
    if MODULE_FORM.match(source):
        try:
            return (*import_component(source, f"{option} {source}"), ())
        except NotInstalled as e:
            raise ParameterError(f"{option} {source}: no module named {e}; install it where you "
                                 "compile, or check the name") from e
    component, origin = load_component(source, f"{option} {source}")
    dropped = task_config_fields(list(yaml.safe_load_all(Path(source).read_text("utf-8"))))
    warnings = (f"{option} {source}: kfp's YAML loader drops its TaskConfig passthroughs "
                f"({', '.join(dropped)}), so the task loses what they carry (train_model: the "
                "volumes it hands the training job); use the module form (sft, osft, lora or "
                "MODULE:ATTR)",) if dropped else ()
    return component, origin, warnings


def not_wired(kind: str, source: str) -> str:
    """What compile says when a plug-in option wired nothing."""
    if source == "none":
        return f"{kind}: none (--{kind}-component none)"
    module = (AUTO_TRAINING if kind == "training" else AUTO_GENERATION).split(":")[0]
    return f"{kind}: none found ({module} is not installed here; install {PACKAGE} to wire it)"


def plugin_parameters(component, prefix: str, skip: set, required: set = frozenset()) -> tuple:
    """Every parameter input of the component becomes a pipeline parameter named `prefix` +
    input (unless it already starts so), with the component's default (none for `required`)."""
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
        if name in required:
            annotation, default = python_type, inspect.Parameter.empty
        elif default is None and spec.optional:
            annotation, default = Optional[python_type], None
        else:
            annotation = python_type
            default = inspect.Parameter.empty if default is None else default
        pipeline_name = name if name.startswith(prefix) else prefix + name
        parameters.append(PipelineParameter(pipeline_name, name, annotation, default))
    return tuple(parameters)


def dataset_inputs(component) -> list:
    return [n for n, s in component.component_spec.inputs.items()
            if s.type.startswith("system.Dataset")]


def training_step(source: str) -> Optional[PluginStep]:
    """`auto`: Training Hub's SFT train_model when kfp-components is installed; `sft`, `osft`,
    `lora`: that algorithm's train_model (an error when absent); `none`; MODULE:ATTR; or a
    component YAML. The mixed JSONL goes to its `dataset` input (or its one Dataset input)."""
    option = "--training-component"
    resolved = resolve(source, option, TRAINING_COMPONENTS, AUTO_TRAINING)
    if resolved is None:
        return None
    component, origin, warnings = resolved
    datasets = dataset_inputs(component)
    wired = "dataset" if "dataset" in datasets else (datasets[0] if len(datasets) == 1 else None)
    if wired is None:
        raise ParameterError(
            f"{option} {source}: component {component.name!r} needs one Dataset input (or one "
            f"named `dataset`) for the mixed JSONL; it has {datasets or 'none'}: give a "
            "training component that takes a Dataset")
    return PluginStep(component, origin,
                      plugin_parameters(component, "training_", {wired, "pvc_path"}),
                      wired_input=wired, warnings=warnings,
                      training_hub="pvc_path" in component.component_spec.inputs)


def generation_step(source: str, seed_data: str = "uri") -> Optional[PluginStep]:
    """`auto`: the kfp-components `sdg` component when its package is installed; `none`;
    MODULE:ATTR; or a component YAML. A component with a `flow_id` input runs once per knowledge
    flow, its Dataset output feeding that set's input, its Dataset input (sdg's `input_artifact`)
    fed from `seed_data_uri`, or with `seed_data="pvc"` its `input_pvc_path` from a parameter;
    any other must have one artifact output, the step-03 folder. Its `model` is required."""
    option = "--generation-component"
    if seed_data not in SEED_DATA:
        raise ParameterError(f"--seed-data {seed_data}: give uri or pvc")
    resolved = resolve(source, option, {}, AUTO_GENERATION)
    if resolved is None:
        return None
    component, origin, warnings = resolved
    inputs = component.component_spec.inputs
    outputs = {n: s.type for n, s in component.component_spec.outputs.items()
               if s.type.startswith("system.") and not s.type.startswith(REPORT_TYPES)}
    seeds = dataset_inputs(component)
    seed_input = seeds[0] if seed_data == "uri" and len(seeds) == 1 else ""
    if seed_data == "pvc" and "input_pvc_path" not in inputs:
        raise ParameterError(f"--seed-data pvc: component {component.name!r} ({source}) has no "
                             "input_pvc_path input; use --seed-data uri")
    skip = {"flow_id", "flow_yaml_path"} | ({"input_pvc_path"} if seed_input else set())
    required = {"model"} | ({"input_pvc_path"} if seed_data == "pvc" else set())
    if "flow_id" in inputs:
        datasets = [n for n, t in outputs.items() if t.startswith("system.Dataset")]
        if len(datasets) != 1:
            raise ParameterError(
                f"{option} {source}: component {component.name!r} takes `flow_id`, so it runs "
                f"once per knowledge flow and needs exactly one Dataset output (the flow's JSONL); "
                f"it has {datasets or 'none'}")
        return PluginStep(component, origin + ", one task per knowledge flow",
                          plugin_parameters(component, "generation_", skip, required),
                          wired_output=datasets[0], per_flow=True, seed_input=seed_input,
                          warnings=warnings)
    if len(outputs) != 1:
        raise ParameterError(
            f"{option} {source}: component {component.name!r} needs exactly one artifact "
            f"output (the step-03 folder), or a `flow_id` input (one task per flow); it has "
            f"{list(outputs) or 'no artifact output'}")
    return PluginStep(component, origin,
                      plugin_parameters(component, "generation_", skip, required),
                      wired_output=next(iter(outputs)), seed_input=seed_input, warnings=warnings)
