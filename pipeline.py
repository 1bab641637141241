"""The knowledge-mixing pipelines: the mixing stage as a sub-pipeline, and the pipeline around it
(knowledge input → tokenizer → mixing stage → training).

    python pipeline.py run        # the whole mixing pipeline on this machine (KFP local runner)
    python pipeline.py compile    # pipeline YAML for Data Science Pipelines / GitOps
    python pipeline.py submit     # a run on a Data Science Pipelines server

The command line lives in `launch/cli.py`. This file only wires. Compiling needs only kfp and
kfp-kubernetes: the components import their heavy dependencies inside their bodies, which run
in the project's image. (No `from __future__ import annotations` here: KFP reads the annotations
as objects.)
"""
import inspect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional

if __name__ == "__main__":
    # The command line imports this file as the module `pipeline`: run as a script, it hands
    # over before defining anything, so the definitions below are made once, not twice.
    from launch import import_kfp_without_its_client

    import_kfp_without_its_client()
    from launch.cli import leave, main

    leave(main())

from kfp import dsl

from components import (
    count_replay,
    count_tokens,
    fetch_tokenizer,
    gather_samples,
    load_knowledge,
    mix_cut,
    plan_cuts,
    select_cut,
    shard_indices,
)
from knowledge_mixing.errors import ParameterError
from knowledge_mixing.parameters import BY_NAME, STAGE_PARAMETERS
from knowledge_mixing.sets import FLOW_IDS, SET_NAMES
from launch.cluster import ClusterSettings
from launch.plugins import PluginStep

INPUT_SOURCES = {"step03": dsl.Artifact, **{name: dsl.Dataset for name in SET_NAMES}}
"""Where the knowledge sets can come from: the generation step's folder (one sub-folder per
set), or one Dataset per set (a JSONL file or a folder of them, as a per-flow `sdg` task writes)."""
MIXING_PARAMETERS = tuple((s.name, s.type, s.default) for s in STAGE_PARAMETERS)


class MixingOutputs(NamedTuple):
    cuts: List[dsl.Dataset]
    validation_cuts: List[dsl.Dataset]
    cards: List[dsl.Markdown]
    training_dataset: dsl.Dataset
    knowledge_rows: dsl.Dataset
    plan: dsl.Artifact
    samples: dsl.Dataset
    run_summary: dsl.Artifact


def with_signature(function, parameters: list, returns):
    """Give `function(*values)` the signature KFP reads: (name, annotation, default) per
    parameter, those without a default first. Returns the names in signature order."""
    ordered = sorted(parameters, key=lambda p: p[2] is not inspect.Parameter.empty)
    function.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation,
                           default=default) for name, annotation, default in ordered],
        return_annotation=returns)
    return [name for name, _, _ in ordered]


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

    def knowledge_mixing_stage(*values) -> MixingOutputs:
        args = dict(zip(names, values))
        loaded = settings.apply(load_knowledge(
            save_gpt_oss_format=args["save_gpt_oss_format"],
            max_sample_chars=args["max_sample_chars"],
            **{source: args[source] for source in sources}))
        knowledge_rows = loaded.outputs["knowledge_rows"]
        planned = settings.apply(plan_cuts(knowledge_rows=knowledge_rows,
                                           cut_sizes=args["cut_sizes"],
                                           qa_per_doc=args["qa_per_doc"], seed=args["seed"],
                                           recipe=args["recipe"], shards=args["shards"],
                                           training_max_seq_len=args["training_max_seq_len"]))
        replay = settings.apply(count_replay(tokenizer_files=args["tokenizer_files"],
                                             plan=planned.outputs["plan"],
                                             trust_remote_code=args["trust_remote_code"]))
        sharding = settings.apply(shard_indices(shards=args["shards"]))
        with dsl.ParallelFor(sharding.output, name="shard") as shard:
            counted = settings.apply(count_tokens(
                knowledge_rows=knowledge_rows,
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
                                           plan=planned.outputs["plan"],
                                           tokenizer_files=args["tokenizer_files"], cut=cut,
                                           check_with_trainer=args["check_with_trainer"]))
        chosen = settings.apply(select_cut(
            cuts=dsl.Collected(mixed.outputs["mixed"]), plan=planned.outputs["plan"],
            loaded=loaded.outputs["Output"], counted=gathered.outputs["Output"],
            **{name: args[name] for name, _, _ in MIXING_PARAMETERS}))
        return MixingOutputs(
            cuts=dsl.Collected(mixed.outputs["mixed"]),
            validation_cuts=dsl.Collected(mixed.outputs["validation"]),
            cards=dsl.Collected(mixed.outputs["card"]),
            training_dataset=chosen.outputs["training_dataset"],
            knowledge_rows=knowledge_rows,
            plan=planned.outputs["plan"],
            samples=gathered.outputs["samples"],
            run_summary=chosen.outputs["run_summary"],
        )

    inputs = [(source, dsl.Input[INPUT_SOURCES[source]], inspect.Parameter.empty)
              for source in sources]
    inputs.append(("tokenizer_files", dsl.Input[dsl.Artifact], inspect.Parameter.empty))
    names = with_signature(knowledge_mixing_stage, inputs + list(MIXING_PARAMETERS),
                           MixingOutputs)
    return dsl.pipeline(
        name="knowledge-mixing-stage",
        description="Knowledge sets (the step-03 folder or one Dataset per set) → one "
        "training-ready chat JSONL per feasible cut size, and the cut the training step uses.",
    )(knowledge_mixing_stage)


def built_off_the_import_stack(build):
    """`build()` on a thread of its own. kfp's task setters (resources, caching) call
    `inspect.stack()`, which looks up the module of every frame on the stack; the import
    machinery's frames have none, and each costs a pass over sys.modules: the stage built while
    this file is imported took 0.2 s (of every `run`), against 0.01 s on a fresh stack."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(build).result()


knowledge_mixing_stage = built_off_the_import_stack(build_mixing_stage)
"""The stage with default cluster settings, to use inside your own pipeline (give it the
`tokenizer_files` of `components.fetch_tokenizer` or of an importer)."""


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
    flow_ids: dict = field(default_factory=dict)
    """Per-flow generation: the sdg_hub flow id of a set's task where it is not the English
    flow's (a language variant such as `epic-jade-656-es`)."""

    def input_sources(self) -> tuple:
        if self.generation:
            return SET_NAMES if self.generation.per_flow else ("step03",)
        return check_sources(self.sources)


def uri_parameter(source: str) -> str:
    """The pipeline parameter that imports a knowledge input by URI."""
    return BY_NAME["input" if source == "step03" else source].parameter


def shared_with_training(options: PipelineOptions) -> set:
    """Stage parameters the training step also has (training_max_seq_len): one pipeline
    parameter feeds both, with the training component's default."""
    if not options.training:
        return set()
    return {p.name for p in options.training.parameters} & {n for n, _, _ in MIXING_PARAMETERS}


def build_pipeline(options: PipelineOptions = PipelineOptions()):
    """The pipeline users compile and run: knowledge input → tokenizer → mixing stage →
    (training). Its parameters depend on the options (plug-in components bring theirs)."""
    settings, generation, training = options.settings, options.generation, options.training
    sources = options.input_sources()
    if options.flow_ids and not (options.generation and options.generation.per_flow):
        raise ParameterError(
            f"--flow-ids {','.join(f'{k}={v}' for k, v in options.flow_ids.items())}: flow ids "
            "choose the flow of each generation task, so they need a per-flow generation "
            "component (one with a `flow_id` input, such as kfp-components' sdg); "
            + ("this one writes the whole step-03 folder" if options.generation else
               "none is used (--generation-component)"))
    flow_ids = {**FLOW_IDS, **options.flow_ids}
    shared = shared_with_training(options)
    parameters = []
    if generation:
        parameters += [(p.name, p.annotation, p.default) for p in generation.parameters]
        if generation.seed_input:
            parameters.append((BY_NAME["seed_data_uri"].parameter, str, inspect.Parameter.empty))
    else:
        parameters += [(uri_parameter(source), str, inspect.Parameter.empty) for source in sources]
    if options.tokenizer_from_uri:
        parameters.append((BY_NAME["tokenizer_uri"].parameter, str, inspect.Parameter.empty))
    else:
        parameters.append(("tokenizer", str, BY_NAME["tokenizer"].default))
    parameters += [p for p in MIXING_PARAMETERS if p[0] not in shared]
    if training:
        parameters += [(p.name, p.annotation, p.default) for p in training.parameters]
    all_names = [name for name, _, _ in parameters]
    duplicates = sorted({n for n in all_names if all_names.count(n) > 1})
    if duplicates:
        raise ParameterError(f"pipeline parameters {duplicates} would be defined twice; rename "
                             "the plug-in component's inputs")
    # pipelines cannot be defined inside pipelines
    mixing_stage = build_mixing_stage(settings, sources)
    workspace = settings.workspace() if training and training.training_hub else None

    def wire(*values) -> MixingOutputs:
        args = dict(zip(names, values))
        if generation:
            given = {p.component_input: args[p.name] for p in generation.parameters}
            if generation.seed_input:
                seed = settings.prepare_import(dsl.importer(
                    artifact_uri=args["seed_data_uri"], artifact_class=dsl.Dataset,
                    reimport=False))
                given[generation.seed_input] = seed.set_display_name("import seed data").output
            if generation.per_flow:  # one task per knowledge flow, each feeding its set
                knowledge = {}
                for name in sources:
                    task = settings.prepare_generation(
                        generation.component(flow_id=flow_ids[name], **given))
                    task.set_display_name(f"generate {name}")
                    knowledge[name] = task.outputs[generation.wired_output]
            else:
                task = settings.prepare_generation(generation.component(**given))
                knowledge = {"step03": task.outputs[generation.wired_output]}
        else:
            knowledge = {source: settings.prepare_import(dsl.importer(
                artifact_uri=args[uri_parameter(source)], artifact_class=INPUT_SOURCES[source],
                reimport=False)).output for source in sources}
        if options.tokenizer_from_uri:
            tokenizer_files = settings.prepare_import(dsl.importer(
                artifact_uri=args["tokenizer_uri"], artifact_class=dsl.Artifact,
                reimport=False)).output
        else:
            fetched = settings.give_hub_token(settings.apply(fetch_tokenizer(
                tokenizer=args["tokenizer"], trust_remote_code=args["trust_remote_code"])))
            tokenizer_files = fetched.outputs["tokenizer_files"]
        stage = mixing_stage(tokenizer_files=tokenizer_files, **knowledge,
                             **{name: args[name] for name, _, _ in MIXING_PARAMETERS})
        stage.set_caching_options(settings.cache)
        if training:
            inputs = {p.component_input: args[p.name] for p in training.parameters}
            inputs[training.wired_input] = stage.outputs["training_dataset"]
            if training.training_hub:
                inputs["pvc_path"] = dsl.WORKSPACE_PATH_PLACEHOLDER
            settings.prepare_training(training.component(**inputs), training.training_hub)
        return MixingOutputs(**{name: stage.outputs[name] for name in MixingOutputs._fields})

    names = with_signature(wire, parameters, MixingOutputs)
    steps = [s.origin for s in (generation, training) if s]
    return dsl.pipeline(
        name="knowledge-tuning" if steps else "knowledge-mixing",
        description="Knowledge mixing of the generation step's knowledge sets"
        + (f", with {' and '.join(steps)}" if steps else "")
        + ": one training-ready chat JSONL per feasible cut size.",
        pipeline_config=dsl.PipelineConfig(workspace=workspace) if workspace else None,
    )(wire)
