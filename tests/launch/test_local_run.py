"""Local runs: the runner's logs routed (progress lines to the terminal, everything to the log
file, the failing task's own error kept), and the outputs committed to the output folder. The
pipeline is a stand-in here, whose outputs are those of the components' chain on the example
data; real local-runner runs: tests/test_pipeline.py; faults: tests/test_faults.py."""
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from kfp import dsl
from helpers import REPO
from standins import artifact, as_kfp_returns, example_chain

import pipeline
from knowledge_mixing.errors import LocalRunError
from knowledge_mixing.logs import PROGRESS_MARK
from launch import local_run
from launch.local_run import LOG_NAME, LogRouter, TaskForks, run_locally

FAILED = "Pipeline 'knowledge-mixing' finished with status FAILURE. Inner task failed: 'plan-cuts'."


def router(verbose=False):
    log, terminal = io.StringIO(), io.StringIO()
    return LogRouter(log, terminal, verbose), log, terminal


def test_the_router_keeps_everything_in_the_log_and_shows_progress_lines():
    routed, log, terminal = router()
    text = ("\x1b[96m'load-knowledge'\x1b[0m started\n"
            f"2026-12-02 01:00:00 INFO {PROGRESS_MARK}load: 170 rows read\nsome log line\n")
    assert routed.write(text) == len(text)
    assert log.getvalue() == ("'load-knowledge' started\n"  # no colour codes, even in the file
                              f"2026-12-02 01:00:00 INFO {PROGRESS_MARK}load: 170 rows read\n"
                              "some log line\n")
    assert terminal.getvalue() == "  load: 170 rows read\n"
    verbose, _, shown = router(verbose=True)
    verbose.write(text)
    assert shown.getvalue() == log.getvalue()


def test_a_fork_of_the_router_leaves_what_other_threads_had_written_of_a_line():
    """A ParallelFor's tasks run on threads of the run's process: a task forked while another
    thread's line is half written must not emit that half as its own output."""
    routed, _, _ = router()
    other = threading.Thread(target=routed.write, args=("half a line of another task",))
    other.start()
    other.join()
    fork_output = io.StringIO()
    routed.into(fork_output)
    routed.write("the fork's own line\n")
    routed.flush()
    assert fork_output.getvalue() == "the fork's own line\n"


def test_the_router_keeps_the_last_exception_line_and_the_failed_task():
    routed, _, _ = router()
    routed.write("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                 "    knowledge_mixing.errors.InputError: input `key_facts_to_qa`: f, line 1\n")
    assert routed.last_error == "InputError: input `key_facts_to_qa`: f, line 1"
    routed.write("ValueError: later\nException: File too large (os error 27)\nnot an error: x\n"
                 "warning: Error: lower-case words do not count\n")
    assert routed.last_error == "Exception: File too large (os error 27)"
    routed.write("01:00:00.000 - ERROR - Task 'count-tokens' finished with status FAILURE\n"
                 "01:00:00.000 - ERROR - Task 'mix-cut' finished with status FAILURE\n")
    assert routed.failed_task == "count-tokens"  # the first to fail
    message = routed.failure(RuntimeError(FAILED), pipeline_output := "out")
    assert message.startswith("Exception: File too large (os error 27); the disk of out ")
    assert message.endswith("(in task count-tokens)") and pipeline_output


# ------------------------------------------------------------------- our tasks in forks

@dsl.component
def fork_task(text: str, seconds: float, allocate_mb: int) -> int:
    """Prints `text` (or raises it as an error, or ends as it says: killed, an exit status, a
    process left behind, or imports the module it names, which must end by setting COMPLETE),
    holds `allocate_mb` for `seconds`; its pid."""
    import importlib
    import os
    import signal
    import subprocess
    import sys
    import time

    if text.startswith("fail"):
        raise ValueError(text)
    if text.startswith("exit"):
        sys.stdout.write("an unfinished line")
        sys.stdout.flush()
        os._exit(int(text.split()[1]))
    if text == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if text.startswith("import "):
        assert importlib.import_module(text.split()[1]).COMPLETE
    if text == "modules":  # which of the modules a task needs it has to import itself
        needed = ("knowledge_mixing.stages.count", "transformers.models.auto.tokenization_auto",
                  "pandas", "pyarrow.pandas_compat", "pyarrow.dataset")
        print(f"to import: {[m for m in needed if m not in sys.modules]}")
    if text == "leaves a process":  # which holds the output pipe, as counting processes do
        print(f"left {subprocess.Popen(['sleep', '60']).pid}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    held = bytearray(allocate_mb << 20)
    print(f"said {text} in {len(held) >> 20} MB")
    time.sleep(seconds)
    return os.getpid()


def executor_input(tmp_path, name: str, text: str, seconds: float = 0, allocate_mb: int = 0):
    """What the local runner hands a task (kfp/local/executor_input_utils.py): its parameters
    and where its outputs go."""
    folder = tmp_path / name
    folder.mkdir()
    return {"inputs": {"parameterValues": {"text": text, "seconds": seconds,
                                           "allocate_mb": allocate_mb}},
            "outputs": {"parameters": {"Output": {"outputFile": str(folder / "Output")}},
                        "outputFile": str(folder / "executor_output.json")}}


def returned(inputs: dict) -> int:
    output = json.loads(Path(inputs["outputs"]["outputFile"]).read_text())
    return int(output["parameterValues"]["Output"])


def resident_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) >> 10


def test_a_task_runs_in_a_fork_and_its_output_reaches_the_router(tmp_path, capsys):
    routed, log, _ = router(verbose=True)
    forks = TaskForks(routed)
    inputs = executor_input(tmp_path, "said", "hello", allocate_mb=300)
    before = resident_mb()
    with contextlib.redirect_stdout(routed):
        assert forks.run(fork_task, inputs) is True
    assert returned(inputs) not in (0, os.getpid())  # a process of its own ...
    assert "said hello in 300 MB" in log.getvalue()  # ... whose lines the run logs
    assert resident_mb() - before < 100  # whose memory went with it


FIRST_AND_SECOND_TASK = """
import contextlib, pathlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests", sys.argv[1] + "/tests/launch"]
import test_local_run as t
from launch.local_run import TaskForks
routed, log, _ = t.router(verbose=True)
with contextlib.redirect_stdout(routed):
    forks = TaskForks(routed)
    for name in ("first", "second"):
        assert forks.run(t.fork_task, t.executor_input(pathlib.Path(sys.argv[2]), name, "modules"))
print(log.getvalue())
"""


def test_tasks_start_with_what_tasks_import_imported(tmp_path):
    """transformers' tokenizer classes before the first fork (the tokenizer's fetch needs
    them); our stages, pyarrow.dataset and pandas (which pyarrow imports on its first
    conversion) while the first task runs, before any other fork: once, not in every task.
    In a fresh interpreter, as `run` is: pytest's own has imported them all."""
    result = subprocess.run(
        [sys.executable, "-c", FIRST_AND_SECOND_TASK, str(REPO), str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    first, second = re.findall(r"to import: (\[.*\])", result.stdout)
    assert "'transformers.models.auto.tokenization_auto'" not in first
    assert "'pandas'" in first and "'knowledge_mixing.stages.count'" in first
    assert second == "[]"


TWO_FIRST_TASKS_AT_ONCE = """
import contextlib, pathlib, sys, threading
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests", sys.argv[1] + "/tests/launch", sys.argv[2]]
import test_local_run as t
from launch import local_run
local_run.TASK_MODULES = ("slow_to_import", *local_run.TASK_MODULES)
routed, log, _ = t.router(verbose=True)
forks, done = local_run.TaskForks(routed), {}
def task(name):
    done[name] = forks.run(t.fork_task, t.executor_input(pathlib.Path(sys.argv[2]), name,
                                                         "import slow_to_import"))
with contextlib.redirect_stdout(routed):
    threads = [threading.Thread(target=task, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
print(done)
"""


def test_no_task_is_forked_while_the_later_tasks_modules_are_imported(tmp_path):
    """Two tasks started at once, as a ParallelFor's are, one of them the first: the other is
    forked once the import is done, not in the middle of it (it would inherit the module's lock
    held by a thread it does not have, and hang importing the module, or get it half made)."""
    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(1)\nCOMPLETE = True\n")
    result = subprocess.run(
        [sys.executable, "-c", TWO_FIRST_TASKS_AT_ONCE, str(REPO), str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "{'a': True, 'b': True}" in result.stdout or "{'b': True, 'a': True}" in result.stdout


def test_a_module_that_fails_to_import_fails_the_run_once_its_first_task_ended(
        tmp_path, monkeypatch):
    """The first task runs to its end (its process reaped, its output read), then the import's
    error is raised."""
    (tmp_path / "fails_to_import.py").write_text("raise RuntimeError('a broken install')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(local_run, "TASK_MODULES", local_run.TASK_MODULES + ("fails_to_import",))
    routed, log, _ = router(verbose=True)
    forks, inputs = TaskForks(routed), executor_input(tmp_path, "first", "first")
    with contextlib.redirect_stdout(routed), pytest.raises(RuntimeError, match="a broken install"):
        forks.run(fork_task, inputs)
    assert "said first in 0 MB" in log.getvalue()
    with pytest.raises(ChildProcessError):  # reaped: its process is not left behind
        os.waitpid(returned(inputs), os.WNOHANG)


def test_a_failing_task_fails_with_its_error_line(tmp_path):
    routed, _, _ = router()
    with contextlib.redirect_stdout(routed):
        assert TaskForks(routed).run(fork_task, executor_input(tmp_path, "t", "fail: no")) is False
    assert routed.last_error == "ValueError: fail: no"


def test_a_task_process_that_is_killed_fails_saying_so(tmp_path):
    routed, _, _ = router()
    with contextlib.redirect_stdout(routed):
        assert TaskForks(routed).run(fork_task, executor_input(tmp_path, "t", "killed")) is False
    assert routed.last_error == ("TaskProcessError: the task's process was killed by SIGKILL (by "
                                 "the system when the task ran out of memory, or by someone)")


def test_a_task_process_that_exits_keeps_its_last_words_and_says_how_it_ended(tmp_path):
    routed, log, _ = router()
    with contextlib.redirect_stdout(routed):
        assert TaskForks(routed).run(fork_task, executor_input(tmp_path, "t", "exit 3")) is False
    assert "an unfinished line\n" in log.getvalue()
    assert routed.last_error == ("TaskProcessError: the task's process ended with exit status 3 "
                                 "and no Python error")


def test_what_a_killed_task_left_running_goes_with_it(tmp_path):
    """Its counting processes, say: they hold its output pipe open, and the run would wait for
    them for ever."""
    routed, log, _ = router()
    started = time.monotonic()
    with contextlib.redirect_stdout(routed):
        assert TaskForks(routed).run(fork_task, executor_input(tmp_path, "t", "leaves a process")) \
            is False
    assert time.monotonic() - started < 20
    left = int(log.getvalue().split("left ")[1].split()[0])
    deadline = time.monotonic() + 5
    while Path(f"/proc/{left}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{left}").exists() or \
        Path(f"/proc/{left}/stat").read_text().split()[2] == "Z"


def test_forks_made_at_once_do_not_wait_for_each_other(tmp_path):
    """A ParallelFor's tasks: the short one ends while the long one (forked first, its output
    pipe open) still runs."""
    routed, log, _ = router(verbose=True)
    forks = TaskForks(routed)
    slow = threading.Thread(target=forks.run,
                            args=(fork_task, executor_input(tmp_path, "slow", "slow", seconds=4)))
    with contextlib.redirect_stdout(routed):
        slow.start()
        time.sleep(0.5)
        started = time.monotonic()
        assert forks.run(fork_task, executor_input(tmp_path, "quick", "quick")) is True
        took = time.monotonic() - started
        slow.join()
    assert took < 2.5, f"the quick task took {took:.1f}s: it waited for the slow one"
    assert "said quick" in log.getvalue() and "said slow" in log.getvalue()


def test_the_router_assembles_lines_per_thread():
    """Tasks of a ParallelFor print from their own threads, a line in several writes."""
    routed, log, _ = router()

    def task(name):
        for _ in range(200):
            routed.write(f"{name} part one, ")
            routed.write(f"{name} part two\n")

    threads = [threading.Thread(target=task, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(log.getvalue().splitlines())) == ["a part one, a part two",
                                                        "b part one, b part two"]


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


STAGE_VALUES = {"cut_sizes": [1.0, 5.0, 10.0], "qa_per_doc": 3, "seed": 42,
                "save_gpt_oss_format": False, "train_cut": 0, "trust_remote_code": False,
                "shards": 3, "training_max_seq_len": 0, "max_sample_chars": 2_000_000,
                "check_with_trainer": False, "recipe": ""}


def with_run_summary(outputs: dict, folder) -> dict:
    """The outputs with the run summary select_cut writes from them."""
    from knowledge_mixing.stages.select import summary_stage

    summary = artifact(dsl.Artifact, folder / "run_summary")
    summary_stage(STAGE_VALUES, outputs["knowledge_rows"].metadata, outputs["plan"].path,
                  outputs["samples"].metadata, [c.metadata for c in outputs["cuts"]], 5,
                  summary.path)
    return {**outputs, "run_summary": summary}


@pytest.fixture
def outputs(tmp_path_factory):
    """The pipeline's outputs as the local runner hands them back (numbers as floats)."""
    chain = example_chain(tmp_path_factory)

    def returned(a, cls=dsl.Dataset):
        return artifact(cls, a.path, **as_kfp_returns(a.metadata))

    cuts = chain.cuts.values()
    return with_run_summary({"plan": returned(chain.plan, dsl.Artifact),
                             "cuts": [returned(c.mixed) for c in cuts],
                             "validation_cuts": [returned(c.validation) for c in cuts],
                             "cards": [returned(c.card, dsl.Markdown) for c in cuts],
                             "knowledge_rows": returned(chain.knowledge_rows),
                             "samples": returned(chain.samples),
                             "training_dataset": returned(chain.cuts[5].mixed)},
                            tmp_path_factory.mktemp("run_summary"))


def stand_in(monkeypatch, outputs, **behaviour):
    standin = StandInPipeline(outputs, **behaviour)
    monkeypatch.setattr(pipeline, "build_pipeline", standin.build)
    return standin


PARAMETERS = {"tokenizer": "bundled-qwen", "cut_sizes": [1, 5, 10], "train_cut": 0}


def test_outputs_are_committed_and_only_recorded_stale_files_removed(monkeypatch, tmp_path,
                                                                   outputs, capsys):
    standin = stand_in(monkeypatch, outputs)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    output = tmp_path / "out"
    output.mkdir()
    for left_over in ("combined_cut_3x.jsonl", "validation_cut_1x.jsonl", "combined_cut_1x.jsonl",
                      "combined_cut_50x.jsonl", "notes.txt"):
        (output / left_over).write_text("left over\n")
    recorded = ("combined_cut_3x.jsonl", "validation_cut_1x.jsonl", "combined_cut_1x.jsonl")
    (output / "summary.json").write_text(json.dumps({"files": dict.fromkeys(recorded, {})}))
    summary = run_locally({"step03": tmp_path / "in", "key_facts_to_qa": tmp_path / "in" / "kf"},
                          output, PARAMETERS)
    assert standin.options.sources == ("step03", "key_facts_to_qa")
    assert standin.arguments == {"step03_uri": str(tmp_path / "in"),  # absolute: tasks run elsewhere
                                 "key_facts_to_qa_uri": str(tmp_path / "in" / "kf"), **PARAMETERS}
    # what an earlier run recorded goes; what nobody recorded (a notebook's cut, notes) stays
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == [
        "combined_cut_1x.card.md", "combined_cut_1x.jsonl", "combined_cut_50x.jsonl",
        "combined_cut_5x.card.md", "combined_cut_5x.jsonl", "notes.txt", "summary.json"]
    assert (output / LOG_NAME).is_file()
    for cut, card in zip(outputs["cuts"], outputs["cards"]):
        assert (output / cut.metadata["file_name"]).read_bytes() == open(cut.path, "rb").read()
        assert (output / cut.metadata["card_file_name"]).read_bytes() == open(card.path, "rb").read()
    assert json.loads((output / "summary.json").read_text()) == summary
    assert summary["files"]["combined_cut_5x.jsonl"]["rows"] == summary["cuts"]["5"]["samples"]
    # the run summary select_cut wrote, with the record of the files
    run_summary = json.loads(open(outputs["run_summary"].path).read())
    assert summary == {**run_summary, "files": summary["files"]}
    assert summary["parameters"] == {"tokenizer": "bundled-qwen", **STAGE_VALUES,
                                     "cut_sizes": [1, 5, 10]}
    assert summary["training_cut"] == 5
    assert summary["cuts"]["5"]["validation"] is None
    assert summary["plan"]["rows_counted"] == 135 and summary["plan"]["tokenizer"] == "bundled-qwen"
    assert summary["cuts"]["5"]["card"] == "combined_cut_5x.card.md"
    assert summary["files"]["combined_cut_5x.card.md"]["bytes"] > 0  # recorded as the cuts are
    assert isinstance(summary["cuts"]["5"]["samples"], int)  # whole numbers again


def test_validation_files_are_gathered_when_the_recipe_holds_rows_out(monkeypatch, tmp_path, outputs):
    plan = json.loads(open(outputs["plan"].path).read())
    plan["recipe"]["validation_fraction"] = 0.1
    (tmp_path / "plan").write_text(json.dumps(plan))
    stand_in(monkeypatch, with_run_summary(
        {**outputs, "plan": artifact(dsl.Artifact, tmp_path / "plan")}, tmp_path))
    summary = run_locally({"step03": tmp_path}, tmp_path / "out", PARAMETERS)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jsonl")) == [
        "combined_cut_1x.jsonl", "combined_cut_5x.jsonl",
        "validation_cut_1x.jsonl", "validation_cut_5x.jsonl"]
    assert summary["cuts"]["5"]["validation"] == {"file": "validation_cut_5x.jsonl", "samples": 0,
                                                 "tokens": 0, "sets": {}}
    assert sorted(summary["files"]) == [
        "combined_cut_1x.card.md", "combined_cut_1x.jsonl", "combined_cut_5x.card.md",
        "combined_cut_5x.jsonl", "validation_cut_1x.jsonl", "validation_cut_5x.jsonl"]


@pytest.mark.parametrize("logged,cause", [
    ("    knowledge_mixing.errors.ParameterError: cut_sizes: no cut size is feasible\n",
     "ParameterError: cut_sizes: no cut size is feasible (in the local runner)"),
    ("a task log without an exception line\n", FAILED + " (in the local runner)"),
])
def test_a_failed_run_ends_with_the_failing_tasks_error(monkeypatch, tmp_path, outputs, capsys,
                                                        logged, cause):
    stand_in(monkeypatch, outputs, prints=logged, fails=FAILED)
    with pytest.raises(LocalRunError) as raised:
        run_locally({"step03": tmp_path}, tmp_path / "out", PARAMETERS)
    assert str(raised.value) == cause
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert capsys.readouterr().out == ""  # quiet: the task's log is in the log file
    assert logged in (tmp_path / "out" / LOG_NAME).read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".knowledge-mixing.lock", LOG_NAME]  # no cut, no summary, no work folder
