"""The command line: `run` (the whole pipeline on this machine), `compile` (the YAML users
upload), `submit` (a run on a Data Science Pipelines server)."""
import argparse
import contextlib
import gc
import inspect
import json
import os
import shutil
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import List, NoReturn, Optional

from components.image import IMAGE
from knowledge_mixing.environment import read_env_file
from knowledge_mixing.errors import InputError, MixingError, ParameterError
from knowledge_mixing.io.output_folder import check_output_location
from knowledge_mixing.io.paths import resolve_input_path
from knowledge_mixing.parameters import BY_NAME
from knowledge_mixing.run_summary import summary_table
from knowledge_mixing.sets import FLOW_IDS, SET_NAMES

from .cluster import TASK_RESOURCES, ClusterSettings, parse_resources
from .plugins import SEED_DATA
from .settings import add_setting_arguments, flag_values, run_parameters

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE_INPUT = REPOSITORY / "examples" / "step_03"
DEFAULT_PIPELINE_FILE = "knowledge_mixing_pipeline.yaml"
DEBUG_VARIABLE = "KNOWLEDGE_MIXING_DEBUG"
DESCRIPTION = """The knowledge-mixing pipelines and their command line.

    python pipeline.py run        # the whole mixing pipeline on this machine (KFP local runner)
    python pipeline.py compile    # pipeline YAML for Data Science Pipelines / GitOps
    python pipeline.py submit     # a run on a Data Science Pipelines server
"""


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ClusterSettings()
    parser.add_argument("--image", default=IMAGE,
                        help="image of the mixing tasks (default: %(default)s; or set "
                        "KNOWLEDGE_MIXING_IMAGE)")
    parser.add_argument("--training-component", default="auto",
                        metavar="sft|osft|lora|auto|none|MODULE:ATTR|FILE.yaml",
                        help="training step after mixing: Training Hub's train_model of "
                        "kfp-components (sft, osft, lora; `auto`: sft when the package is "
                        "installed), `none` (end at the datasets), a component as MODULE:ATTR, or "
                        "a compiled component YAML (default: %(default)s)")
    parser.add_argument("--generation-component", default="auto",
                        metavar="auto|none|MODULE:ATTR|FILE.yaml",
                        help="generation step before mixing: `auto` uses the kfp-components `sdg` "
                        "component (one task per knowledge flow) when its package is installed, "
                        "`none` imports the inputs by URI, or a component as MODULE:ATTR or "
                        "compiled YAML: with a `flow_id` input it runs once per flow, else its one "
                        "artifact output is the step-03 folder (default: %(default)s)")
    parser.add_argument("--seed-data", default="uri", metavar="|".join(SEED_DATA),
                        help="with a generation step: the seed data comes from an artifact URI "
                        "(parameter seed_data_uri) or from a path on --pvc (parameter "
                        "generation_input_pvc_path) (default: %(default)s)")
    parser.add_argument("--flow-ids", default="", metavar="SET=ID[,SET=ID...]",
                        help="with a per-flow generation component: the sdg_hub flow id of a "
                        "set's task instead of the English flow's (e.g. "
                        "key_facts_to_qa=heavy-heart-77-es for the Spanish flow); default: "
                        + ", ".join(f"{name}={flow}" for name, flow in FLOW_IDS.items()))
    parser.add_argument("--inputs", default="step03", metavar="step03|SET[,SET...]",
                        help="without a generation step: what the pipeline imports, each from a "
                        "URI parameter `<name>_uri`: the step-03 folder, or one JSONL Dataset per "
                        f"set ({', '.join(SET_NAMES)}) (default: %(default)s)")
    parser.add_argument("--tokenizer-from-uri", action="store_true",
                        help="take the tokenizer files from an artifact URI (parameter "
                        "tokenizer_uri) instead of a hub id: for clusters without hub access")
    parser.add_argument("--cache", action=argparse.BooleanOptionalAction, default=False,
                        help="cache the mixing tasks: a run with the same parameters and input "
                        "URIs reuses their outputs, even when the data at a URI has changed "
                        "(default: off)")
    parser.add_argument("--resources", action="append", default=[],
                        metavar="TASK=CPU_REQUEST,CPU_LIMIT,MEMORY_REQUEST,MEMORY_LIMIT",
                        help="resources of one mixing task, e.g. count_tokens=4,8,4Gi,16Gi; "
                        "repeatable (defaults: " + "; ".join(
                            f"{task}={resources}" for task, resources in TASK_RESOURCES.items())
                        + ")")
    parser.add_argument("--hf-token-secret", default=defaults.hf_token_secret,
                        help="Kubernetes secret whose key HF_TOKEN reaches the tokenizer fetch "
                        "(gated hub tokenizers); it must exist (default: none)")
    parser.add_argument("--llm-secret", default=defaults.llm_secret,
                        help="with a generation step: Kubernetes secret whose keys LLM_API_KEY and "
                        "LLM_API_BASE reach the generation tasks; it must exist; '' for none "
                        "(default: %(default)s)")
    parser.add_argument("--kubernetes-credentials-secret",
                        default=defaults.kubernetes_credentials_secret,
                        help="with train_model: secret with KUBERNETES_SERVER_URL and "
                        "KUBERNETES_AUTH_TOKEN, required (default: %(default)s)")
    parser.add_argument("--oci-pull-secret", default=defaults.oci_pull_secret,
                        help="with train_model: secret with OCI_PULL_SECRET_MODEL_DOWNLOAD "
                        "(oci:// base models), optional; '' for none (default: %(default)s)")
    parser.add_argument("--training-hf-token-secret", default=defaults.training_hf_token_secret,
                        help="with a training step: secret with HF_TOKEN, optional; '' for none "
                        "(default: %(default)s)")
    parser.add_argument("--pvc", default="",
                        help="existing PVC to mount in the mixing and generation tasks")
    parser.add_argument("--pvc-mount-path", default=defaults.pvc_mount_path,
                        help="where --pvc is mounted (default: %(default)s)")
    parser.add_argument("--workspace-size", default=defaults.workspace_size,
                        help="with train_model: size of the workspace PVC (default: %(default)s)")
    parser.add_argument("--workspace-storage-class", default="",
                        help="with train_model: storage class of the workspace PVC (required)")
    parser.add_argument("--workspace-access-mode", default=defaults.workspace_access_mode,
                        help="with train_model: access mode of the workspace PVC "
                        "(default: %(default)s)")


def options_from_arguments(args: argparse.Namespace):
    from pipeline import PipelineOptions, check_sources

    from .plugins import generation_step, training_step

    settings = ClusterSettings(
        resources=dict(map(parse_resources, args.resources)), cache=args.cache,
        hf_token_secret=args.hf_token_secret, llm_secret=args.llm_secret,
        kubernetes_credentials_secret=args.kubernetes_credentials_secret,
        oci_pull_secret=args.oci_pull_secret,
        training_hf_token_secret=args.training_hf_token_secret, pvc=args.pvc,
        pvc_mount_path=args.pvc_mount_path, workspace_size=args.workspace_size,
        workspace_storage_class=args.workspace_storage_class,
        workspace_access_mode=args.workspace_access_mode)
    generation = generation_step(args.generation_component, args.seed_data)
    if generation and args.seed_data == "pvc" and not args.pvc:
        raise ParameterError("--seed-data pvc: give --pvc NAME, the PVC that holds the seed data "
                             "(mounted at --pvc-mount-path)")
    return PipelineOptions(
        settings=settings, tokenizer_from_uri=args.tokenizer_from_uri,
        sources=check_sources(tuple(s.strip() for s in args.inputs.split(","))),
        generation=generation, training=training_step(args.training_component),
        flow_ids=parse_flow_ids(args.flow_ids))


def parse_flow_ids(text: str) -> dict:
    """SET=ID,... → {set: flow id}; sets not named keep their English flow."""
    flow_ids = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, flow_id = (part.strip() for part in item.partition("="))
        if not sep or not flow_id:
            raise ParameterError(f"--flow-ids {text!r}: {item!r} is not SET=ID")
        if name not in SET_NAMES:
            raise ParameterError(f"--flow-ids {text!r}: {name!r} is not a knowledge set; use "
                                 f"{', '.join(SET_NAMES)}")
        if name in flow_ids:
            raise ParameterError(f"--flow-ids {text!r}: {name} is given twice")
        flow_ids[name] = flow_id
    return flow_ids


def parse_param(text: str) -> tuple:
    """NAME=VALUE; VALUE is read as JSON when it parses (numbers, booleans, lists)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--param {text!r}: expected NAME=VALUE")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline.py", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="show every log line of the pipeline's tasks (default: one line per "
                        "task)")
    common.add_argument("--debug", action="store_true",
                        help=f"show the traceback of a failure (or set {DEBUG_VARIABLE}=1); "
                        "implies --verbose")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", parents=[common],
                              help="run the whole pipeline on this machine")
    add_setting_arguments(run, "run")

    comp = commands.add_parser("compile", parents=[common], help="write the pipeline YAML")
    comp.add_argument("-o", "--output", type=Path, default=Path(DEFAULT_PIPELINE_FILE),
                      help="YAML file to write (default: %(default)s)")
    add_compile_arguments(comp)

    sub = commands.add_parser("submit", parents=[common],
                              help="create a run on a Data Science Pipelines server")
    sub.add_argument("--host", required=True, help="the Data Science Pipelines route (https://...)")
    sub.add_argument("--token", help="bearer token (default: KFP_TOKEN, else `oc whoami -t`)")
    sub.add_argument("--experiment", default="knowledge-mixing",
                     help="experiment of the run (default: %(default)s)")
    sub.add_argument("--run-name", default="", help="name of the run (default: generated)")
    sub.add_argument("--param", type=parse_param, action="append", default=[],
                     metavar="NAME=VALUE", help="any other pipeline parameter, e.g. of training")
    add_setting_arguments(sub, "submit")
    add_compile_arguments(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Exit status: 0 done, 1 failed, 2 a setting is wrong, 130 interrupted. A failure is one line
    on stderr; with --debug (or KNOWLEDGE_MIXING_DEBUG=1) its traceback too."""
    parser = command_line()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_VARIABLE, "").lower() not in ("", "0", "false")
    name = f"{parser.prog} {args.command}"
    try:
        with interrupt_on_terminate():
            return {"run": run_command, "compile": compile_command,
                    "submit": submit_command}[args.command](args, verbose=args.verbose or debug)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except MixingError as e:
        if debug:
            traceback.print_exc()
        print(f"{name}: {'error' if isinstance(e, ParameterError) else 'failed'}: {e}",
              file=sys.stderr)
        return 2 if isinstance(e, ParameterError) else 1


def leave(status: int) -> NoReturn:
    """Exit with `status` as usual (exit handlers, flushing, a SystemExit a host can catch), with
    every object out of the garbage collector's sight first: the collections Python runs as it
    shuts down would otherwise walk all of kfp, transformers and pandas (a third of a second)."""
    gc.freeze()
    sys.exit(status)


def descendants(pid: int) -> list[int]:
    """Every process started under `pid`, children first (Linux /proc; elsewhere none)."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in children.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in descendants(child)]


@contextlib.contextmanager
def interrupt_on_terminate():
    """Ctrl-C and SIGTERM stop the command's processes (the tasks of a local run and theirs)
    and then the command, so that every clean-up runs (the work folder, the lock)."""
    def interrupt(signum, frame):
        for pid in descendants(os.getpid()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, interrupt)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def compile_command(args: argparse.Namespace, verbose: bool) -> int:
    from pipeline import build_pipeline

    from .compile import compile_pipeline, describe_compiled

    options = options_from_arguments(args)
    warn_about_plugins(options)
    compile_pipeline(build_pipeline(options), args.output, args.image)
    print("\n".join([*wiring(args, options), *describe_compiled(args.output)]))
    print(f"wrote {args.output}")
    return 0


def wiring(args: argparse.Namespace, options) -> list:
    """One line per plug-in step (what was wired, from where, or that none was), and the image
    of our tasks."""
    from .plugins import not_wired

    steps = (("generation", options.generation, args.generation_component),
             ("training", options.training, args.training_component))
    return [f"{kind}: {step.origin}" if step else not_wired(kind, source)
            for kind, step, source in steps] + [f"image: {args.image}"]


def warn_about_plugins(options) -> None:
    for step in (options.generation, options.training):
        for warning in step.warnings if step else ():
            print(f"warning: {warning}", file=sys.stderr)


def settings_of(args: argparse.Namespace) -> dict:
    """The run's parameters: flags over the environment, which the `.env` file of the working
    directory (the notebook's settings file) completes, as python-dotenv's load_dotenv does
    (HF_TOKEN there reaches the tasks too)."""
    for name, value in read_env_file(Path.cwd() / ".env").items():
        os.environ.setdefault(name, value)
    return run_parameters(args, dict(os.environ), args.command)


def run_command(args: argparse.Namespace, verbose: bool) -> int:
    from .local_run import run_locally

    parameters = settings_of(args)
    sources = {name: Path(getattr(args, name)) for name in SET_NAMES if getattr(args, name)}
    if args.input or not sources:
        sources = {"step03": Path(args.input) if args.input else EXAMPLE_INPUT, **sources}
    for name, path in sources.items():
        flag = "--input" if name == "step03" else f"--{name.replace('_', '-')}"
        try:
            sources[name] = resolve_input_path(path, flag)
        except InputError as e:  # a flag's path: a setting to change
            raise ParameterError(str(e)) from e
        if name == "step03" and not sources[name].is_dir():
            raise ParameterError(f"--input {path}: not a directory; pass the step-03 folder")
    output = Path(args.output or BY_NAME["output"].default)
    check_output_location(output, list(sources.values()))
    warn_if_short_of_space(output, list(sources.values()))
    summary = run_locally(sources, output, parameters, verbose)
    print("\n" + summary_table(summary))
    print(f"\nwrote {len(summary['cuts'])} cut(s) and summary.json to {output}")
    return 0


def warn_if_short_of_space(output: Path, inputs: list[Path]) -> None:
    """A warning when the output's file system has less free space than twice the inputs (the
    cuts repeat the knowledge rows; the intermediate tables hold them once more)."""
    needed = 2 * sum(p.stat().st_size for path in inputs
                     for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file())
    existing = next(p for p in (output.resolve(), *output.resolve().parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        print(f"warning: {existing} has {free / 1e6:,.0f} MB free; this run may need about "
              f"{needed / 1e6:,.0f} MB", file=sys.stderr)


def submit_command(args: argparse.Namespace, verbose: bool) -> int:
    from pipeline import build_pipeline, shared_with_training, uri_parameter

    from .compile import describe_compiled
    from .submit import check_host, submit

    check_host(args.host)
    parameters = settings_of(args)
    options = options_from_arguments(args)
    warn_about_plugins(options)
    pipeline = build_pipeline(options)
    arguments = dict(parameters)
    if args.tokenizer_from_uri:
        del arguments["tokenizer"]
        arguments["tokenizer_uri"] = args.tokenizer_uri
    if not options.generation:
        arguments.update({uri_parameter(source): args.input if source == "step03" else None
                          for source in options.input_sources()})
    elif options.generation.seed_input:
        arguments["seed_data_uri"] = args.seed_data_uri
    given = flag_values(args, "submit")
    for name in shared_with_training(options) - set(given):  # the training step's default
        del arguments[name]
    arguments.update(dict(args.param))
    check_plugin_parameters(options, arguments)
    url = submit(pipeline, arguments, args.host, args.token, args.image, args.experiment,
                 args.run_name, enable_caching=None if args.cache else False,
                 describe=lambda path: print("\n".join([*wiring(args, options),
                                                         *describe_compiled(path)])))
    print(f"run created: {url}")
    return 0


def check_plugin_parameters(options, arguments: dict) -> None:
    """A plug-in parameter without a default (the generation step's `generation_model`) needs a
    value, before anything is sent."""
    for kind, step in (("generation", options.generation), ("training", options.training)):
        for parameter in step.parameters if step else ():
            if parameter.default is inspect.Parameter.empty and \
                    arguments.get(parameter.name) in (None, ""):
                raise ParameterError(
                    f"--param {parameter.name}: required by the {kind} step (input "
                    f"{parameter.component_input!r} of {step.component.name!r}); give --param "
                    f"{parameter.name}=VALUE")
