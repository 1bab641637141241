"""Local runs: the task logs passed through with the failing task's own error kept, and the
outputs gathered into the output folder. The pipeline is a stand-in here, whose outputs are those
of the components' chain on the example data; real local-runner runs: tests/test_pipeline.py."""
import io
import json
from types import SimpleNamespace

import pytest
from kfp import dsl
from standins import artifact, as_kfp_returns, example_chain

import pipeline
from knowledge_mixing.errors import LocalRunError
from launch.local_run import ErrorWatcher, run_locally

FAILED = "Pipeline 'knowledge-mixing' finished with status FAILURE. Inner task failed: 'plan-cuts'."


def test_error_watcher_passes_logs_through_and_keeps_the_last_exception_line():
    stream = io.StringIO()
    watcher = ErrorWatcher(stream)
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
            "    knowledge_mixing.errors.InputError: input `key_facts_to_qa`: f, line 1, column 1\n"
            "some log line\n")
    assert watcher.write(text) == len(text)
    assert watcher.last_error == "InputError: input `key_facts_to_qa`: f, line 1, column 1"
    watcher.write("ValueError: later\nRuntimeException: last one\nnot an error: x\n")
    assert watcher.last_error == "RuntimeException: last one"
    watcher.write("warning: Error: lower-case words do not count\n")
    assert watcher.last_error == "RuntimeException: last one"
    watcher.flush()
    assert stream.getvalue().startswith(text) and stream.getvalue().endswith("do not count\n")


class StandInPipeline:
    """What `build_pipeline` returns, made of the chain's artifacts: records its call, prints
    `prints` to the (watched) stdout, then fails with `fails` or returns the outputs."""

    def __init__(self, outputs, prints="", fails=None):
        self.outputs, self.prints, self.fails = outputs, prints, fails
        self.options = self.arguments = None

    def build(self, options):
        self.options = options
        return self

    def __call__(self, **arguments):
        self.arguments = arguments
        print(self.prints, end="")
        if self.fails:
            raise RuntimeError(self.fails)
        return SimpleNamespace(outputs=self.outputs)


@pytest.fixture
def outputs(tmp_path_factory):
    """The pipeline's outputs as the local runner hands them back (numbers as floats)."""
    chain = example_chain(tmp_path_factory)

    def returned(a, cls=dsl.Dataset):
        return artifact(cls, a.path, **as_kfp_returns(a.metadata))

    return {"plan": returned(chain.plan, dsl.Artifact),
            "cuts": [returned(c.mixed) for c in chain.cuts.values()],
            "validation_cuts": [returned(c.validation) for c in chain.cuts.values()],
            "knowledge_rows": returned(chain.knowledge_rows),
            "samples": returned(chain.samples),
            "training_dataset": returned(chain.cuts[5].mixed)}


def stand_in(monkeypatch, outputs, **behaviour):
    standin = StandInPipeline(outputs, **behaviour)
    monkeypatch.setattr(pipeline, "build_pipeline", standin.build)
    return standin


PARAMETERS = {"tokenizer": "bundled-qwen", "cut_sizes": [1, 5, 10], "train_cut": 0}


def test_outputs_are_gathered_and_stale_cuts_removed(monkeypatch, tmp_path, outputs, capsys):
    standin = stand_in(monkeypatch, outputs)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    output = tmp_path / "out"
    output.mkdir()
    for left_over in ("combined_cut_3x.jsonl", "validation_cut_1x.jsonl", "combined_cut_1x.jsonl",
                      "notes.txt"):
        (output / left_over).write_text("left over\n")
    summary = run_locally({"step03": tmp_path / "in", "key_facts_to_qa": tmp_path / "in" / "kf"},
                          output, PARAMETERS)
    assert standin.options.sources == ("step03", "key_facts_to_qa")
    assert standin.arguments == {"step03_uri": str(tmp_path / "in"),  # absolute: tasks run elsewhere
                                 "key_facts_to_qa_uri": str(tmp_path / "in" / "kf"), **PARAMETERS}
    assert sorted(p.name for p in output.iterdir()) == [
        "combined_cut_1x.jsonl", "combined_cut_5x.jsonl", "notes.txt", "summary.json"]
    for cut in outputs["cuts"]:
        assert (output / cut.metadata["file_name"]).read_bytes() == open(cut.path, "rb").read()
    printed = capsys.readouterr().out
    for stale in ("combined_cut_3x.jsonl", "validation_cut_1x.jsonl"):
        assert f"removing {output / stale}: left by an earlier run, not produced by this one" in printed
    assert json.loads((output / "summary.json").read_text()) == summary
    assert summary["parameters"] == PARAMETERS and summary["training_cut"] == 5
    assert summary["cuts"]["5"]["validation"] is None
    assert summary["plan"]["rows_counted"] == 134 and summary["plan"]["tokenizer"] == "bundled-qwen"
    assert isinstance(summary["cuts"]["5"]["samples"], int)  # whole numbers again


def test_validation_files_are_gathered_when_the_recipe_holds_rows_out(monkeypatch, tmp_path, outputs):
    plan = json.loads(open(outputs["plan"].path).read())
    plan["recipe"]["validation_fraction"] = 0.1
    (tmp_path / "plan").write_text(json.dumps(plan))
    stand_in(monkeypatch, {**outputs, "plan": artifact(dsl.Artifact, tmp_path / "plan")})
    summary = run_locally({"step03": tmp_path}, tmp_path / "out", PARAMETERS)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jsonl")) == [
        "combined_cut_1x.jsonl", "combined_cut_5x.jsonl",
        "validation_cut_1x.jsonl", "validation_cut_5x.jsonl"]
    assert summary["cuts"]["5"]["validation"] == {"file": "validation_cut_5x.jsonl", "samples": 0,
                                                 "tokens": 0, "sets": {}}


@pytest.mark.parametrize("logged,cause", [
    ("    knowledge_mixing.errors.ParameterError: cut_sizes: no cut size is feasible\n",
     "\nParameterError: cut_sizes: no cut size is feasible"),
    ("a task log without an exception line\n", ""),
])
def test_a_failed_run_ends_with_the_failing_tasks_error(monkeypatch, tmp_path, outputs, capsys,
                                                        logged, cause):
    stand_in(monkeypatch, outputs, prints=logged, fails=FAILED)
    with pytest.raises(LocalRunError) as raised:
        run_locally({"step03": tmp_path}, tmp_path / "out", PARAMETERS)
    assert str(raised.value) == FAILED + cause
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert capsys.readouterr().out == logged  # the logs reach the terminal as they were
    assert not (tmp_path / "out").exists()
