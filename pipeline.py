"""The knowledge-mixing pipeline and its command line.

    python pipeline.py run        # the whole pipeline on this machine (KFP local runner)
    python pipeline.py compile    # the pipeline YAML for Data Science Pipelines / GitOps

Compiling needs only kfp: the components import their heavy dependencies inside their bodies.
(No `from __future__ import annotations` here: KFP reads the annotations as objects.)
"""

import argparse
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import List, NamedTuple

from kfp import compiler, dsl

from components import count_tokens, load_summaries, mix_cut, select_cut
from knowledge_mixing.sampling import ParameterError, parse_cut_sizes, validate_qa_per_doc
from knowledge_mixing.sets import SET_NAMES
from knowledge_mixing.tokens import BUNDLED_TOKENIZER

HERE = Path(__file__).resolve().parent
EXAMPLE_INPUT = HERE / "examples" / "step_03"
DEFAULT_CUT_SIZES = [1, 5, 10]
DEFAULT_QA_PER_DOC = 3
DEFAULT_SEED = 42
DEFAULT_PIPELINE_FILE = "knowledge_mixing_pipeline.yaml"


class MixingOutputs(NamedTuple):
    cuts: List[dsl.Dataset]
    training_dataset: dsl.Dataset
    summaries: dsl.Dataset
    samples: dsl.Dataset


@dsl.pipeline(
    name="knowledge-mixing",
    description="Step-03 knowledge sets → one training-ready chat JSONL per feasible cut size, "
    "and the cut the training step uses.",
)
def knowledge_mixing(
    step03: dsl.Input[dsl.Artifact],
    cut_sizes: List[int] = DEFAULT_CUT_SIZES,
    qa_per_doc: int = DEFAULT_QA_PER_DOC,
    seed: int = DEFAULT_SEED,
    tokenizer: str = BUNDLED_TOKENIZER,
    save_gpt_oss_format: bool = False,
    train_cut: int = 0,
    trust_remote_code: bool = False,
) -> MixingOutputs:
    """The mixing stage on its own: usable as a sub-pipeline of any knowledge-tuning pipeline."""
    loaded = load_summaries(step03=step03, save_gpt_oss_format=save_gpt_oss_format)
    counted = count_tokens(
        summaries=loaded.outputs["summaries"],
        cut_sizes=cut_sizes,
        qa_per_doc=qa_per_doc,
        seed=seed,
        tokenizer=tokenizer,
        save_gpt_oss_format=save_gpt_oss_format,
        trust_remote_code=trust_remote_code,
    )
    with dsl.ParallelFor(counted.outputs["Output"], name="cut") as cut:
        mixed = mix_cut(samples=counted.outputs["samples"], cut=cut)
    chosen = select_cut(cuts=dsl.Collected(mixed.outputs["mixed"]), train_cut=train_cut)
    return MixingOutputs(
        cuts=dsl.Collected(mixed.outputs["mixed"]),
        training_dataset=chosen.outputs["training_dataset"],
        summaries=loaded.outputs["summaries"],
        samples=counted.outputs["samples"],
    )


@dsl.pipeline(
    name="knowledge-mixing-from-uri",
    description="Knowledge mixing of a step-03 artifact that already exists at a URI "
    "(object storage, a PVC path, or a local folder in the local runner).",
)
def knowledge_mixing_from_uri(
    step03_uri: str,
    cut_sizes: List[int] = DEFAULT_CUT_SIZES,
    qa_per_doc: int = DEFAULT_QA_PER_DOC,
    seed: int = DEFAULT_SEED,
    tokenizer: str = BUNDLED_TOKENIZER,
    save_gpt_oss_format: bool = False,
    train_cut: int = 0,
    trust_remote_code: bool = False,
) -> MixingOutputs:
    step03 = dsl.importer(artifact_uri=step03_uri, artifact_class=dsl.Artifact, reimport=False)
    mixing = knowledge_mixing(
        step03=step03.output,
        cut_sizes=cut_sizes,
        qa_per_doc=qa_per_doc,
        seed=seed,
        tokenizer=tokenizer,
        save_gpt_oss_format=save_gpt_oss_format,
        train_cut=train_cut,
        trust_remote_code=trust_remote_code,
    )
    return MixingOutputs(
        cuts=mixing.outputs["cuts"],
        training_dataset=mixing.outputs["training_dataset"],
        summaries=mixing.outputs["summaries"],
        samples=mixing.outputs["samples"],
    )


# ---------------------------------------------------------------------------- local run


def _whole_numbers(value):
    """KFP hands numbers back from artifact metadata as floats; restore the integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _in_set_order(per_set: dict) -> dict:
    """KFP metadata comes back with its keys in any order; tables read best in SPEC order."""
    return {name: per_set[name] for name in SET_NAMES if name in per_set}


def cut_file_name(cut: int) -> str:
    return f"combined_cut_{cut}x.jsonl"


def collect_outputs(outputs: dict, output_dir: Path, parameters: dict) -> dict:
    """Place each cut's artifact in output_dir and build summary.json from the artifacts."""
    output_dir.mkdir(parents=True, exist_ok=True)
    cuts = {}
    for artifact in outputs["cuts"]:
        report = _whole_numbers(dict(artifact.metadata))
        name = cut_file_name(report["cut"])
        shutil.copyfile(artifact.path, output_dir / name)
        cuts[report["cut"]] = {
            "file": name, "samples": report["samples"], "tokens": report["tokens"],
            "max_token_length": report["max_token_length"], "sets": _in_set_order(report["sets"]),
        }
    for stale in output_dir.glob("combined_cut_*x.jsonl"):
        if stale.name not in {c["file"] for c in cuts.values()}:
            print(f"removing {stale}: left by an earlier run, not produced by this one")
            stale.unlink()
    plan = _whole_numbers(dict(outputs["samples"].metadata))
    load = _whole_numbers(dict(outputs["summaries"].metadata))
    summary = {
        "parameters": parameters,
        "load": {"sets": _in_set_order(load["sets"]), "absent_sets": load["absent_sets"]},
        "plan": {
            "feasible_cuts": plan["feasible_cuts"],
            "infeasible_cuts": dict(sorted(plan["infeasible_cuts"].items(), key=lambda kv: int(kv[0]))),
            "summaries_per_raw_document": _in_set_order(plan["summaries_per_raw_document"]),
            "rows_counted": plan["rows_counted"],
            "tokens_counted": plan["tokens_counted"],
        },
        "cuts": {str(cut): cuts[cut] for cut in sorted(cuts)},
        "training_cut": _whole_numbers(outputs["training_dataset"].metadata["cut"]),
    }
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def summary_table(summary: dict) -> str:
    """The per-cut, per-set table printed at the end of a run."""
    header = ("cut", "set", "samples", "tokens", "raw docs", "summaries")
    rows = []
    for cut, report in summary["cuts"].items():
        for set_name, stats in report["sets"].items():
            rows.append((cut, set_name, stats["samples"], stats["tokens"], stats["raw_documents"],
                         stats["summaries"]))
        rows.append((cut, "total", report["samples"], report["tokens"], "", ""))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                       for i, (v, w) in enumerate(zip(r, widths))) for r in [header, *rows]]
    for cut, reason in summary["plan"]["infeasible_cuts"].items():
        lines.append(f"cut {cut} not produced: {reason}")
    for set_name in summary["load"]["absent_sets"]:
        lines.append(f"set {set_name} absent from the input")
    lines.append(f"training uses cut {summary['training_cut']}")
    return "\n".join(lines)


def run_locally(input_dir: Path, output_dir: Path, parameters: dict) -> dict:
    """Run the real pipeline with the KFP local runner and gather its outputs in output_dir."""
    from kfp import local

    # The local runner warns that our base image may not be Python; it is, and locally the
    # components run on this environment's installed copy of the same code.
    warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
    with tempfile.TemporaryDirectory(prefix="knowledge-mixing-") as pipeline_root:
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=pipeline_root)
        run = knowledge_mixing_from_uri(step03_uri=str(input_dir.resolve()), **parameters)
        return collect_outputs(run.outputs, output_dir, parameters)


def _parameters(args: argparse.Namespace) -> dict:
    return {
        "cut_sizes": parse_cut_sizes(args.cut_sizes),
        "qa_per_doc": validate_qa_per_doc(args.qa_per_doc),
        "seed": args.seed,
        "tokenizer": args.tokenizer,
        "save_gpt_oss_format": args.save_gpt_oss_format,
        "train_cut": args.train_cut,
        "trust_remote_code": args.trust_remote_code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole pipeline on this machine")
    run.add_argument("--input", type=Path, default=EXAMPLE_INPUT,
                     help="step-03 folder (default: the example data shipped in examples/step_03)")
    run.add_argument("--output", type=Path, default=Path("output") / "mixed",
                     help="folder for combined_cut_{N}x.jsonl and summary.json (default: %(default)s)")
    run.add_argument("--cut-sizes", default=",".join(map(str, DEFAULT_CUT_SIZES)),
                     help="comma-separated summaries per raw document, one output per cut "
                     "(default: %(default)s)")
    run.add_argument("--qa-per-doc", type=int, default=DEFAULT_QA_PER_DOC,
                     help="Q&A pairs kept per sampled summary (default: %(default)s)")
    run.add_argument("--seed", type=int, default=DEFAULT_SEED,
                     help="seed of the summary sampling (default: %(default)s)")
    run.add_argument("--tokenizer", default=BUNDLED_TOKENIZER,
                     help="student tokenizer: a hub model id or a local directory (default: "
                     f"{BUNDLED_TOKENIZER}, the Qwen tokenizer shipped with the project)")
    run.add_argument("--save-gpt-oss-format", action="store_true",
                     help="drop template-echo questions and write reasoning as `thinking`")
    run.add_argument("--train-cut", type=int, default=0,
                     help="cut the training dataset is taken from (default 0: the largest feasible)")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="allow a hub tokenizer to run its own code")

    comp = commands.add_parser("compile", help="write the pipeline YAML")
    comp.add_argument("-o", "--output", type=Path, default=Path(DEFAULT_PIPELINE_FILE),
                      help="YAML file to write (default: %(default)s)")

    args = parser.parse_args(argv)
    if args.command == "compile":
        compiler.Compiler().compile(knowledge_mixing_from_uri, str(args.output))
        print(f"wrote {args.output}")
        return 0

    try:
        parameters = _parameters(args)
    except ParameterError as e:
        parser.error(str(e))
    if not args.input.is_dir():
        parser.error(f"--input {args.input}: not a directory; pass the step-03 folder")
    try:
        summary = run_locally(args.input, args.output, parameters)
    except RuntimeError as e:
        print(f"\nknowledge mixing failed: {e}\nThe failing task's error is in the log above.",
              file=sys.stderr)
        return 1
    print("\n" + summary_table(summary))
    print(f"\nwrote {len(summary['cuts'])} cut(s) and summary.json to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
