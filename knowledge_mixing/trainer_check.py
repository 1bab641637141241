"""The trainer's own data processing on a cut: instructlab-training (what Training Hub's SFT and
OSFT hand the file to) reads it, and we count what it accepts (docs/behaviour.md#trainer-check).

instructlab-training is not a dependency of this project (it brings torch): the check runs in a
Python that has it, as `python -m knowledge_mixing.trainer_check CUT --tokenizer DIR`, and needs
nothing else of this project. `check_cut` runs that command and reads its report; where the
package is absent it says so and how to install it.

Per row the report says whether the trainer accepts it (processed without error and within
min_seq_len ≤ length < max_seq_len, its filter_samples_by_length), whether the end-of-turn token
of every assistant turn is trained (the model learns to stop), and whether its own token count
equals the row's `token_length`.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .io.whole_files import write_text_whole

TRAINER = "instructlab.training"
TRAINER_MIN_SEQ_LEN = 20
"""filter_samples_by_length's lower bound in instructlab-training 0.16 (not configurable)."""
INSTALL = ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && "
           "pip install instructlab-training==0.16.2 training-hub==0.11.2")
PROBLEMS_SHOWN = 5
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding knowledge_mixing: put on the checking Python's path."""


def trainer_installed() -> bool:
    """Can this Python import instructlab-training (without importing it: it brings torch)?"""
    try:
        return importlib.util.find_spec(TRAINER) is not None
    except ModuleNotFoundError:  # no `instructlab` package at all
        return False


def unavailable(python: str) -> str:
    return (f"trainer check skipped: instructlab-training is not installed for {python}; to "
            f"check each cut with the trainer's own data processing, install it there: {INSTALL}")


def check_cut(path: str, tokenizer_dir: str, max_seq_len: int | None,
              python: str = sys.executable) -> dict:
    """The trainer's verdict on the cut file at `path`, counted with the tokenizer files in
    `tokenizer_dir` by `python` (which must have instructlab-training); {"available": False,
    "message": ...} where it has not."""
    if python == sys.executable and not trainer_installed():
        return {"available": False, "message": unavailable(python)}
    with tempfile.TemporaryDirectory() as work:
        report_path = Path(work) / "report.json"
        command = [python, "-m", "knowledge_mixing.trainer_check", str(path), "--tokenizer",
                   str(tokenizer_dir), "--json", str(report_path)]
        if max_seq_len:
            command += ["--max-seq-len", str(max_seq_len)]
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")))))
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        if result.returncode == 3:
            return {"available": False, "message": unavailable(python)}
        if result.returncode != 0 or not report_path.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return {"available": False, "message":
                    f"trainer check failed ({python} exited {result.returncode}): {last}"}
        return json.loads(report_path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ in the trainer's Python


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("instructlab-training", "training-hub", "transformers", "datasets", "torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _model_folder(tokenizer_dir: Path, work: Path) -> Path:
    """The tokenizer folder as the trainer loads a model's: instructlab reads the model's
    config.json only to ask whether it is gpt-oss (which changes nothing for these rows), so a
    folder without one gets a stub saying llama."""
    if (tokenizer_dir / "config.json").exists():
        return tokenizer_dir
    folder = work / "model"
    folder.mkdir()
    for item in tokenizer_dir.iterdir():
        (folder / item.name).symlink_to(item.resolve())
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return folder


def _as_training_hub_reads(path: Path, work: Path) -> str:
    """The file under a .jsonl name (Training Hub passes a local .jsonl file through as it is,
    and reads other names as datasets of other formats), through Training Hub's own step where
    it is installed."""
    if path.suffix != ".jsonl":
        named = work / f"{path.name}.jsonl"
        named.symlink_to(path.resolve())
        path = named
    try:
        from training_hub.utils import ensure_messages_jsonl
    except ImportError:
        return str(path)
    return ensure_messages_jsonl(str(path), str(work / "training_hub"))


def run(path: Path, tokenizer_dir: Path, max_seq_len: int | None, work: Path) -> dict:
    """instructlab-training's data processing, step by step as process_messages_into_input_ids
    runs it, one row at a time so that a failing row is named instead of failing them all."""
    import datasets
    import instructlab.training.data_process as dp

    datasets.disable_progress_bars()
    data = dp.load_and_validate_dataset(_as_training_hub_reads(path, work), num_procs=1)
    tokenizer = dp.configure_tokenizer(str(_model_folder(tokenizer_dir, work)))
    eos = tokenizer.convert_tokens_to_ids(tokenizer.eos_token) if tokenizer.eos_token else None
    lengths, problems = [], []
    end_of_turn = agrees = 0
    for index, sample in enumerate(data):
        try:
            processed = dp.unmask_sample(sample, tokenizer)
        except Exception as error:  # the trainer's own error: the row is refused
            problems.append(f"row {index + 1}: the trainer refuses it: "
                            f"{type(error).__name__}: {error}")
            lengths.append(None)
            continue
        lengths.append(processed["len"])
        assistant_turns = sum(m["role"] == "assistant" for m in sample["messages"])
        trained_eos = sum(i == eos and label == eos
                          for i, label in zip(processed["input_ids"], processed["labels"]))
        end_of_turn += eos is not None and trained_eos >= assistant_turns
        agrees += processed["len"] == sample.get("token_length")
    counted = datasets.Dataset.from_dict({"len": [n for n in lengths if n is not None]})
    accepted = len(dp.filter_samples_by_length(counted, max_seq_len or sys.maxsize))
    dropped = len(counted) - accepted
    if dropped:
        problems.append(f"{dropped} rows outside {TRAINER_MIN_SEQ_LEN} ≤ tokens"
                        + (f" < {max_seq_len}" if max_seq_len else "") + ": the trainer drops them")
    if len(problems) > PROBLEMS_SHOWN:
        problems = problems[:PROBLEMS_SHOWN] + [f"... {len(problems) - PROBLEMS_SHOWN} more"]
    return {"available": True, "versions": _versions(), "rows": len(lengths),
            "accepted": accepted, "end_of_turn_trained": end_of_turn,
            "token_length_agrees": agrees, "min_seq_len": TRAINER_MIN_SEQ_LEN,
            "max_seq_len": max_seq_len, "problems": problems}


def summary_line(report: dict) -> str:
    if not report["available"]:
        return report["message"]
    return (f"trainer check: {report['accepted']:,} of {report['rows']:,} rows accepted, "
            f"end-of-turn trained in {report['end_of_turn_trained']:,}, token count = "
            f"token_length in {report['token_length_agrees']:,}")


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 checked (whatever the verdict), 3 instructlab-training is absent."""
    parser = argparse.ArgumentParser(prog="python -m knowledge_mixing.trainer_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("cut", type=Path, help="a combined_cut_{N}x.jsonl file")
    parser.add_argument("--tokenizer", type=Path, required=True,
                        help="the tokenizer folder the cut was counted with")
    parser.add_argument("--max-seq-len", type=int, default=None,
                        help="the trainer's max_seq_len (default: no upper bound)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    if not trainer_installed():
        print(unavailable(sys.executable), file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory() as work:
        # the trainer's libraries cache what they read: keep it here, and never ask a hub
        os.environ.update(HF_DATASETS_CACHE=str(Path(work) / "datasets"), HF_HUB_OFFLINE="1",
                          HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                          TOKENIZERS_PARALLELISM="false")
        report = run(args.cut, args.tokenizer, args.max_seq_len, Path(work))
    if args.json:
        write_text_whole(args.json, json.dumps(report, indent=2))
    print(summary_line(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
