"""Running the real pipeline on this machine with the KFP local runner, and gathering its
outputs (the cut files and summary.json) in the output folder."""
import contextlib
import json
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from knowledge_mixing.errors import LocalRunError
from knowledge_mixing.run_summary import run_summary


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

    from pipeline import PipelineOptions, build_pipeline, uri_parameter

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
                    **{uri_parameter(name): str(path.resolve()) for name, path in sources.items()},
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
        summary = run_summary(parameters, dict(outputs["knowledge_rows"].metadata), plan,
                              dict(outputs["samples"].metadata), cut_reports,
                              outputs["training_dataset"].metadata["cut"])
    for pattern in ("combined_cut_*x.jsonl", "validation_cut_*x.jsonl"):
        for stale in output_dir.glob(pattern):
            if stale.name not in written:
                print(f"removing {stale}: left by an earlier run, not produced by this one")
                stale.unlink()
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
