"""Plug-in steps: the generation and training components we wire but do not own, from the
installed kfp-components package (`auto`) or from a compiled component YAML file."""
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from kfp import components as kfp_components

from knowledge_mixing.errors import ParameterError

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
