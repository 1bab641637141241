"""The select stage: the one cut the training step uses, and all cuts side by side."""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from ..errors import ParameterError
from ..io.whole_files import write_text_whole, written_whole
from ..logs import progress
from ..parameters import STAGE_PARAMETERS
from ..report import cuts_comparison_markdown, from_metadata
from ..run_summary import run_summary
from . import Measured

log = logging.getLogger(__name__)


def select_training_cut(produced_cuts: list, train_cut: int) -> int:
    """Index of the cut training should use: `train_cut`, or the largest produced when it is 0."""
    cuts = [int(c) for c in produced_cuts]
    if not cuts:
        raise ParameterError("train_cut: no cut was produced, so there is nothing to train on")
    if train_cut in (0, None):
        return cuts.index(max(cuts))
    if int(train_cut) not in cuts:
        raise ParameterError(
            f"train_cut: cut {train_cut} was not produced (produced: {sorted(cuts)}); pick one of "
            "them, or 0 for the largest"
        )
    return cuts.index(int(train_cut))


def select_stage(cuts: list[tuple[str, dict]], train_cut: int, training_path: str,
                 comparison_path: str) -> Measured:
    """Copy the chosen cut (path, metadata) to the training dataset, and compare every produced
    cut in Markdown."""
    reports = [from_metadata(dict(metadata)) for _, metadata in cuts]
    chosen = select_training_cut([r["cut"] for r in reports], train_cut)
    path, metadata = cuts[chosen]
    try:  # a second name for the same file where both are on one disk (a local run)
        os.link(path, training_path)
    except OSError:
        with written_whole(training_path) as temporary:
            shutil.copyfile(path, temporary)
    training_cut = reports[chosen]["cut"]
    write_text_whole(comparison_path, cuts_comparison_markdown(reports, training_cut))
    progress(log, "select: training uses cut %d", training_cut)
    return Measured({"training_dataset": dict(metadata)})


def summary_stage(parameters: dict, loaded: dict, plan_path: str, counted: dict,
                  cuts: list[dict], training_cut: int, summary_path: str) -> None:
    """The run summary (summary.json, less the `files` record a local run's output folder adds)
    from what the tasks reported: what was loaded and counted, the plan, every cut's metadata,
    and the run's parameters (the stage's, and the tokenizer the files came from)."""
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    recorded = {"tokenizer": counted["tokenizer"],
                **{s.name: parameters[s.name] for s in STAGE_PARAMETERS}}
    summary = run_summary(recorded, loaded, plan, counted, cuts, training_cut)
    write_text_whole(summary_path, json.dumps(summary, indent=2) + "\n")
