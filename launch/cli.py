"""The command line: `run` (the whole pipeline on this machine), `compile` (the YAML users
upload), `submit` (a run on a Data Science Pipelines server)."""
import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from components.image import IMAGE
from knowledge_mixing.errors import LocalRunError, ParameterError, SubmitError
from knowledge_mixing.run_summary import summary_table
from knowledge_mixing.sets import SET_NAMES

from .cluster import ClusterSettings
from .settings import add_setting_arguments, run_parameters

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE_INPUT = REPOSITORY / "examples" / "step_03"
DEFAULT_PIPELINE_FILE = "knowledge_mixing_pipeline.yaml"
DESCRIPTION = """The knowledge-mixing pipelines and their command line.

    python pipeline.py run        # the whole mixing pipeline on this machine (KFP local runner)
    python pipeline.py compile    # pipeline YAML for Data Science Pipelines / GitOps
    python pipeline.py submit     # a run on a Data Science Pipelines server
"""


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline import DEFAULT_WORKSPACE_SIZE

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


def options_from_arguments(args: argparse.Namespace):
    from pipeline import PipelineOptions, check_sources

    from .plugins import generation_step, training_step

    settings = ClusterSettings(
        cpu_request=args.cpu_request, cpu_limit=args.cpu_limit,
        memory_request=args.memory_request, memory_limit=args.memory_limit,
        hf_token_secret=args.hf_token_secret, llm_secret=args.llm_secret, pvc=args.pvc,
        pvc_mount_path=args.pvc_mount_path, workspace_size=args.workspace_size)
    return PipelineOptions(
        settings=settings, tokenizer_from_uri=args.tokenizer_from_uri,
        sources=check_sources(tuple(s.strip() for s in args.inputs.split(","))),
        generation=generation_step(args.generation_component),
        training=training_step(args.training_component))


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
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole pipeline on this machine")
    add_setting_arguments(run, "run")

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
    sub.add_argument("--param", type=parse_param, action="append", default=[],
                     metavar="NAME=VALUE", help="any other pipeline parameter, e.g. of training")
    add_setting_arguments(sub, "submit")
    add_compile_arguments(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    try:
        if args.command == "compile":
            from pipeline import build_pipeline

            from .compile import compile_pipeline

            compile_pipeline(build_pipeline(options_from_arguments(args)), str(args.output),
                             args.image)
            print(f"wrote {args.output}")
            return 0
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)  # the notebook's settings file
        parameters = run_parameters(args, dict(os.environ), args.command)
        if args.command == "submit":
            return submit_command(args, parameters)
        return run_command(parser, args, parameters)
    except ParameterError as e:
        parser.error(str(e))


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace,
                parameters: dict) -> int:
    from .local_run import run_locally

    sources = {name: Path(getattr(args, name)) for name in SET_NAMES if getattr(args, name)}
    if args.input or not sources:
        sources = {"step03": Path(args.input) if args.input else EXAMPLE_INPUT, **sources}
    for name, path in sources.items():
        if name == "step03" and not path.is_dir():
            parser.error(f"--input {path}: not a directory; pass the step-03 folder")
        if not path.exists():
            parser.error(f"--{name.replace('_', '-')} {path}: no such file or folder")
    output = Path(args.output or "output/mixed")
    try:
        summary = run_locally(sources, output, parameters)
    except LocalRunError as e:
        print(f"\nknowledge mixing failed: {e}\nThe failing task's log is above.", file=sys.stderr)
        return 1
    print("\n" + summary_table(summary))
    print(f"\nwrote {len(summary['cuts'])} cut(s) and summary.json to {output}")
    return 0


def submit_command(args: argparse.Namespace, parameters: dict) -> int:
    from pipeline import build_pipeline, uri_parameter

    from .submit import submit

    options = options_from_arguments(args)
    pipeline = build_pipeline(options)
    arguments = dict(parameters)
    if args.tokenizer_from_uri:
        del arguments["tokenizer"]
        arguments["tokenizer_uri"] = args.tokenizer_uri
    if not options.generation:
        arguments.update({uri_parameter(source): args.input if source == "step03" else None
                          for source in options.input_sources()})
    arguments.update(dict(args.param))
    try:
        url = submit(pipeline, arguments, args.host, args.token, args.image, args.experiment,
                     args.run_name)
    except SubmitError as e:
        print(f"submit failed: {e}", file=sys.stderr)
        return 1
    print(f"run created: {url}")
    return 0
