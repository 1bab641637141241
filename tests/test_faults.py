"""Fault injection: issue 13, "Nothing half-written, nothing lost".

Each case breaks a run the way the world does — a full disk, a kill or an interrupt at any point
of the write, two runs into one folder, foreign files, bad paths, hostile recipes, flags and
variables, symlinks, broken inputs — and checks that the output folder holds one run's complete
output (never a truncated file under a final name, never a recorded file lost, never a file the
tool did not write touched) and that the user reads one line saying what is wrong.

Whole runs of `pipeline.py run` (several seconds each) only where the behaviour is the process's
(exit codes, signals, stderr, rlimits, concurrent runs, kills); everything else at the unit level
(OutputFolder, read_env_file, read_recipe_text / apply_recipe, Step03Reader, launch.cli.main for
checks that fail before any task runs). Helper scripts and checks live in tests/faults/.
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from faults.folders import (
    LOCK_NAME,
    SUMMARY_NAME,
    WORK_NAME,
    check_complete,
    leftovers,
    record,
    snapshot,
)
from faults.processes import (
    DEBUG_VARIABLE,
    SETTING_VARIABLES,
    Started,
    descendants,
    environment,
    kill,
    run,
    wait_gone,
)
from helpers import EXAMPLE_STEP_03, write_jsonl
from knowledge_mixing import environment as environment_module
from knowledge_mixing import errors
from knowledge_mixing.errors import InputError, ParameterError, RecipeError, TokenizerError

FAULTS = Path(__file__).resolve().parent / "faults"
ANSI = "\x1b["
DISK_PROBLEM = re.compile(r"file too large|no space left|disk .*full|size limit", re.IGNORECASE)
FOREIGN = "combined_cut_50x.jsonl"
"""A file of the notebook's in the output folder: no run of this tool recorded it."""
FOREIGN_BYTES = b'{"written by": "the notebook"}\n'
PROGRESS = ("tokenizer:", "load:", "plan:", "count:", "gather:", "mix cut 1:", "mix cut 5:",
            "select:")
"""The one progress line of each task of a run with --cut-sizes 1,5."""


def OutputFolder(path: Path):
    """knowledge_mixing.io.output_folder.OutputFolder, imported when a test uses it (a version
    without the module fails those tests, not the whole file)."""
    from knowledge_mixing.io.output_folder import OutputFolder as Folder

    return Folder(path)


def one_line(stderr: str) -> str:
    """The one line a failure prints: exactly one, and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


def previous_output(good_output, folder: Path) -> Path:
    """A copy of a good earlier run's output folder, to re-run over."""
    assert good_output.result.returncode == 0, good_output.result.stderr
    shutil.copytree(good_output.output, folder)
    return folder


def limit_file_size(limit: int):
    """preexec_fn: files the child (and its children) write stop at `limit` bytes, with
    EFBIG instead of the signal that would kill it."""
    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limited


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def good_output(tmp_path_factory):
    """One whole run of the example with `python3` in its input and output paths (case 6): the
    good earlier output other cases re-run over, and the normal run whose lines case 10 counts."""
    base = tmp_path_factory.mktemp("faults") / "python3_projects"
    shutil.copytree(EXAMPLE_STEP_03, base / "in")
    result = run(["--input", base / "in", "--output", base / "out", "--cut-sizes", "1,5"],
                 cwd=base)
    return SimpleNamespace(result=result, input=base / "in", output=base / "out")


@pytest.fixture(scope="module")
def corrupt_tokenizer(tmp_path_factory) -> Path:
    """A tokenizer directory whose tokenizer.json was cut short (a copy that did not finish)."""
    from knowledge_mixing.tokenizer import bundled_tokenizer_dir

    folder = tmp_path_factory.mktemp("corrupt_tokenizer")
    shutil.copy(bundled_tokenizer_dir() / "tokenizer_config.json", folder)
    (folder / "tokenizer.json").write_bytes(
        (bundled_tokenizer_dir() / "tokenizer.json").read_bytes()[:5000])
    return folder


@pytest.fixture
def started():
    """Runs a test starts with Started(...): stopped (with what they started) if the test fails."""
    runs = []

    def start(*args, **kwargs) -> Started:
        runs.append(Started(*args, **kwargs))
        return runs[-1]

    yield start
    for each in runs:
        each.stop()


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size) → a fresh tmpfs of that size; skipped where mounting is not permitted."""
    mounted = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        if subprocess.run(["umount", str(point)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """launch.cli.main in this process, in an empty working directory, with no setting's
    variable set; a task that would start fails the test (the checks must come first). The
    environment is restored afterwards (a `.env` file adds to it)."""
    import kfp.local

    from launch.cli import main

    saved = dict(os.environ)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for variable in (*SETTING_VARIABLES, DEBUG_VARIABLE):
        monkeypatch.delenv(variable, raising=False)

    def no_task(*args, **kwargs):
        raise AssertionError("a task would run: the check did not stop the run before its work")

    monkeypatch.setattr(kfp.local, "init", no_task)

    def call(*argv) -> int:
        started_at = time.monotonic()
        code = main([str(a) for a in argv])
        call.seconds = time.monotonic() - started_at
        return code

    call.cwd = work
    yield call
    os.environ.clear()
    os.environ.update(saved)


# ------------------------------------------------------------- 1. full disk (rlimit, tmpfs)

@pytest.mark.parametrize("how", ["rlimit", "tmpfs"])
def test_full_disk_rerun_keeps_previous_output(good_output, tmp_path, tmpfs, how):
    """A re-run over a good output on a full disk: exit 1, one line naming the disk problem,
    the previous cut files and summary.json byte-identical, no staging or work folder left."""
    if how == "rlimit":
        output, limit = tmp_path / "out", limit_file_size(1 << 20)
    else:  # room for the previous output and more than twice the input (no space warning), but
        output, limit = tmpfs("3m") / "out", None  # not for the tokenizer's 11 MB
    previous_output(good_output, output)
    before = snapshot(output)
    result = run(["--input", EXAMPLE_STEP_03, "--output", output, "--cut-sizes", "1,5"],
                 cwd=tmp_path, preexec_fn=limit)
    assert result.returncode == 1, result.stderr
    assert DISK_PROBLEM.search(one_line(result.stderr))
    assert snapshot(output) == before
    assert leftovers(output) == []


def old_output(folder: Path, files: dict[str, bytes], **summary) -> dict:
    """An earlier run's complete output, committed by OutputFolder itself; its summary."""
    sources = folder.parent / f"{folder.name}-sources"
    sources.mkdir()
    with OutputFolder(folder) as out:
        for name, data in files.items():
            (sources / name).write_bytes(data)
            out.stage(name, sources / name)
        return out.commit(summary)


@pytest.mark.parametrize("how", ["rlimit", "tmpfs"])
def test_staging_a_file_bigger_than_the_disk_raises_output_error(tmp_path, tmpfs, how, request):
    """OutputFolder.stage of a file from another disk larger than the file-size limit (in a
    child process) or the free space (a small tmpfs): OutputError naming the file and the disk
    problem; the folder's previous files untouched, nothing staged left."""
    # the file comes from another file system, so staging copies it (a file already on the
    # output's disk gets a second name, writing nothing)
    folder = (tmp_path if how == "rlimit" else tmpfs("1m")) / "out"
    other_disk = Path(tempfile.mkdtemp(dir="/dev/shm")) if how == "rlimit" else tmp_path
    request.addfinalizer(lambda: other_disk == tmp_path or shutil.rmtree(other_disk))
    if os.stat(other_disk).st_dev == os.stat(folder.parent).st_dev:
        pytest.skip("no second file system to copy from")
    big = other_disk / "big.jsonl"
    big.write_bytes((b'{"row": "' + b"x" * 990 + b'"}\n') * 2000)  # 2 MB
    old_output(folder, {"combined_cut_1x.jsonl": b'{"a": 1}\n' * 50}, run="old")
    before = snapshot(folder)
    if how == "rlimit":
        done = subprocess.run(
            [sys.executable, str(FAULTS / "stage_driver.py"), str(folder),
             "combined_cut_1x.jsonl", str(big)],
            env=environment(), capture_output=True, text=True, timeout=60,
            preexec_fn=limit_file_size(256 << 10))
        assert done.returncode == 3, done.stdout + done.stderr
        message = done.stdout
    else:
        with pytest.raises(errors.OutputError) as caught, OutputFolder(folder) as out:
            out.stage("combined_cut_1x.jsonl", big)
        message = str(caught.value)
    assert "combined_cut_1x.jsonl" in message and DISK_PROBLEM.search(message), message
    assert snapshot(folder) == before
    assert leftovers(folder) == []


# ---------------------------------------------------------------- 2. kills during the write

OLD_FILES = {"combined_cut_1x.jsonl": b'{"old": 1}\n' * 3000,
             "combined_cut_5x.jsonl": b'{"old": 5}\n' * 10,
             "validation_cut_5x.jsonl": b'{"old": "v"}\n'}
NEW_FILES = {"combined_cut_1x.jsonl": b'{"new": 1}\n' * 5000,
             "combined_cut_10x.jsonl": b'{"new": 10}\n' * 7}
COMMIT_RENAMES = 5
"""os.replace calls of committing NEW_FILES: summary.json and the journal (each written under a
temporary name and renamed), then the two files and summary.json into place."""
STAGE_BLOCKS = 7
"""Blocks of 10,000 bytes the staging copy of NEW_FILES takes (6 + 1)."""

KILL_POINTS = [
    *[("kill", k) for k in range(COMMIT_RENAMES + 1)],
    *[("interrupt", k) for k in range(COMMIT_RENAMES + 1)],
    *[("stage", k) for k in (0, 3, 6, STAGE_BLOCKS)],
    ("kill-then-recover-kill", 0), ("kill-then-recover-kill", 1),
]


def drive(folder: Path, sources: Path, mode: str, k: int, report: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, str(FAULTS / "commit_driver.py"), str(folder), str(sources), mode,
         str(k), str(report)], env=environment(), capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    stopped = json.loads(report.read_text()) if report.exists() else None
    report.unlink(missing_ok=True)
    return done.returncode, stopped


def assert_no_truncated_file(folder: Path, old: dict, new: dict) -> None:
    """Under every final name: the old file, the new file, or nothing — never anything else."""
    for name in {*old, *new}:
        path = folder / name
        if path.exists():
            assert record(path) in (old.get(name), new.get(name)), \
                f"{path}: neither the old nor the new file (half-written?)"


@pytest.mark.parametrize("mode,k", KILL_POINTS, ids=[f"{m}-{k}" for m, k in KILL_POINTS])
def test_stopped_commit_leaves_old_or_new_complete_output(tmp_path, mode, k):
    """A commit stopped at any point — killed (os._exit after k renames, or mid-staging) or
    interrupted (KeyboardInterrupt, as the CLI turns Ctrl-C and SIGTERM into, after k renames) —
    and then the next run opening the folder: exactly the old complete output or exactly the new
    one; the new one whenever the stopped run had written its journal."""
    folder = tmp_path / "out"
    old = old_output(folder, OLD_FILES, run="old")["files"]
    (folder / FOREIGN).write_bytes(FOREIGN_BYTES)
    before = snapshot(folder)
    sources = tmp_path / "new"
    for name, data in NEW_FILES.items():
        (sources / name).parent.mkdir(exist_ok=True)
        (sources / name).write_bytes(data)
    new = {name: record(sources / name) for name in NEW_FILES}
    report = tmp_path / "stopped.json"

    driver_mode = "kill" if mode == "kill-then-recover-kill" else mode
    driver_k = 3 if mode == "kill-then-recover-kill" else k
    code, stopped = drive(folder, sources, driver_mode, driver_k, report)
    completes = (mode in ("kill", "interrupt") and k == COMMIT_RENAMES) or \
        (mode == "stage" and k == STAGE_BLOCKS)
    assert code == (0 if completes else 130 if mode == "interrupt" else 9)
    assert (stopped is None) == completes
    assert_no_truncated_file(folder, old, new)
    if mode == "kill-then-recover-kill":  # the next run is killed while it rolls forward
        code, _ = drive(folder, sources, "recover", k, report)
        assert code == 9
        assert_no_truncated_file(folder, old, new)

    with OutputFolder(folder):  # the next run
        pass

    summary = check_complete(folder)
    outcome = summary["run"]
    assert outcome in ("old", "new")
    expected = {"old": old, "new": new}[outcome]
    assert summary["files"] == expected
    final_names = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert final_names == {*expected, SUMMARY_NAME, FOREIGN}
    assert (folder / FOREIGN).read_bytes() == FOREIGN_BYTES
    if outcome == "old":
        assert snapshot(folder) == before
    assert leftovers(folder) == []
    journal_written = completes or stopped["journal"]
    assert outcome == ("new" if journal_written else "old"), \
        f"the journal was {'' if journal_written else 'not '}on disk when the run stopped"


def fill_up_to_one_block(folder: Path) -> Path:
    """A foreign file taking all the free space of folder's file system but one block (4 kB):
    room for summary.json, none for the commit's journal."""
    filler = folder / "filler.bin"
    filler.write_bytes(b"\0" * (shutil.disk_usage(folder).free - 4096))
    assert shutil.disk_usage(folder).free == 4096
    return filler


def test_full_disk_during_the_commit_keeps_previous_output(tmp_path, tmpfs):
    """The files are staged, then the disk fills up while the commit writes summary.json and its
    journal: OutputError, the previous output and foreign files as they were, nothing left."""
    folder = tmpfs("400k") / "out"
    old_output(folder, {"combined_cut_1x.jsonl": b'{"a": 1}\n' * 500}, run="old")
    source = tmp_path / "combined_cut_5x.jsonl"
    source.write_bytes(b'{"b": 5}\n' * 2000)
    with pytest.raises(errors.OutputError) as caught, OutputFolder(folder) as out:
        out.stage(source.name, source)
        filler = fill_up_to_one_block(folder)
        before = snapshot(folder)
        out.commit({"run": "new"})
    assert DISK_PROBLEM.search(str(caught.value)), caught.value
    assert snapshot(folder) == before
    assert check_complete(folder)["run"] == "old"
    assert filler.exists() and leftovers(folder) == []


@pytest.mark.parametrize("how", ["killed", "disk full"])
def test_next_run_removes_what_a_stopped_commit_half_wrote(tmp_path, tmpfs, how):
    """A run stopped between writing summary.json to the staging folder and renaming its journal
    into place — killed there, or the disk full while the journal is written — leaves the
    journal's temporary file; the next run removes it (no half-written file of the tool's stays
    in the output folder)."""
    sources = tmp_path / "new"
    sources.mkdir()
    for name, data in NEW_FILES.items():
        (sources / name).write_bytes(data)
    if how == "killed":
        folder = tmp_path / "out"
        old_output(folder, OLD_FILES, run="old")
        code, stopped = drive(folder, sources, "kill", 1, tmp_path / "stopped.json")
        assert code == 9 and not stopped["journal"]
    else:
        folder = tmpfs("400k") / "out"
        old_output(folder, {"combined_cut_1x.jsonl": b'{"a": 1}\n' * 500}, run="old")
        with pytest.raises(errors.OutputError), OutputFolder(folder) as out:
            out.stage("combined_cut_10x.jsonl", sources / "combined_cut_10x.jsonl")
            fill_up_to_one_block(folder)
            out.commit({"run": "new"})
        (folder / "filler.bin").unlink()
    with OutputFolder(folder):  # the next run
        pass
    check_complete(folder)
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))
    assert left == [], f"left in the output folder after the next run: {left}"


@pytest.fixture(scope="module")
def killed_then_rerun(good_output, tmp_path_factory):
    """A real run SIGKILLed mid-run over a good output (with a notebook's file in it); then the
    next run (cut 1 only), and while it runs, a second run into the same folder."""
    base = tmp_path_factory.mktemp("killed")
    output = previous_output(good_output, base / "out")
    (output / FOREIGN).write_bytes(FOREIGN_BYTES)
    before = snapshot(output)
    args = ["--input", EXAMPLE_STEP_03, "--output", output]
    runs = []
    try:
        killed = Started([*args, "--cut-sizes", "1,5"], cwd=base)
        runs.append(killed)
        killed.read_until("tokenizer:")
        time.sleep(0.3)  # into the next task
        children = descendants(killed.pid)
        killed.process.kill()
        killed_code, _, killed_err = killed.finish(timeout=30)
        orphans = wait_gone(children, timeout=15)  # the tasks end when their pipe is gone
        for pid in orphans:
            kill(pid)
        after_kill = snapshot(output)
        work_after_kill = (output / WORK_NAME).exists()

        rerun = Started([*args, "--cut-sizes", "1"], cwd=base)
        runs.append(rerun)
        rerun.read_until("tokenizer:")
        second_started = time.monotonic()
        second = run([*args, "--cut-sizes", "1"], cwd=base, timeout=60)
        second_seconds = time.monotonic() - second_started
        rerun_running_after_second = rerun.running()
        rerun_code, rerun_out, rerun_err = rerun.finish()
    finally:
        for each in runs:
            each.stop()
    return SimpleNamespace(
        output=output, before=before, killed_pid=killed.pid, killed_code=killed_code,
        killed_err=killed_err, orphans=orphans, after_kill=after_kill,
        work_after_kill=work_after_kill, rerun_pid=rerun.pid, rerun_code=rerun_code,
        rerun_out=rerun_out, rerun_err=rerun_err, second=second, second_seconds=second_seconds,
        rerun_running_after_second=rerun_running_after_second)


def test_sigkill_mid_run_keeps_previous_output(killed_then_rerun):
    k = killed_then_rerun
    assert k.killed_code == -signal.SIGKILL
    assert k.after_kill == k.before  # the previous cut files, summary.json, the notebook's file
    assert k.work_after_kill  # what the killed run left is in the work folder only
    assert k.orphans == [], "the killed run's tasks kept running for 15 s"


def test_run_after_a_kill_succeeds_and_cleans_the_work_folder(killed_then_rerun):
    k = killed_then_rerun
    assert k.rerun_code == 0, k.rerun_err
    assert "Traceback" not in k.rerun_out + k.rerun_err
    assert f"pid {k.killed_pid}" in k.rerun_out  # the killed run's lock was taken over
    summary = check_complete(k.output)
    assert set(summary["files"]) == {"combined_cut_1x.jsonl", "combined_cut_1x.card.md"}
    assert leftovers(k.output) == []
    assert (k.output / LOCK_NAME).read_text() == ""  # released


def test_second_run_into_the_same_folder_fails_at_once(killed_then_rerun):
    """While a run writes a folder, a second run into it fails at once naming the holder (pid
    and start time), and the first completes."""
    k = killed_then_rerun
    assert k.second.returncode == 1, k.second.stderr
    line = one_line(k.second.stderr)
    assert "in use by another run" in line and f"pid {k.rerun_pid}" in line, line
    assert re.search(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line), line
    assert k.rerun_running_after_second, "the second run waited for the first to finish"
    assert k.second_seconds < 15
    assert k.rerun_code == 0, k.rerun_err


def test_stale_lock_is_taken_over(tmp_path):
    """A lock file naming a dead process, no flock held: the next run takes it over."""
    folder = tmp_path / "out"
    folder.mkdir()
    pid = dead_pid()
    (folder / LOCK_NAME).write_text(f"pid {pid} on host, started 2020-01-01 00:00:00\n")
    with OutputFolder(folder) as out:
        assert f"pid {pid}" in out.taken_over
        assert f"pid {os.getpid()}" in (folder / LOCK_NAME).read_text()
    assert (folder / LOCK_NAME).read_text() == ""


def test_held_lock_names_its_holder(tmp_path):
    import fcntl

    folder = tmp_path / "out"
    with OutputFolder(folder):
        holder = (folder / LOCK_NAME).read_text().strip()
        with pytest.raises(errors.OutputError, match=re.escape(holder)):
            with OutputFolder(folder):
                pass
    with open(folder / LOCK_NAME, "a") as lock:  # released: anyone can take it now
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


# ---------------------------------------------------------------------------- 4. foreign files

def test_foreign_file_survives_and_unwritten_recorded_file_is_removed(killed_then_rerun):
    """The whole run: the notebook's combined_cut_50x.jsonl (never recorded) is still there,
    byte for byte; combined_cut_5x.jsonl (recorded by the previous run, not written by this
    one, cut 1 only) is gone."""
    k = killed_then_rerun
    assert (k.output / FOREIGN).read_bytes() == FOREIGN_BYTES
    assert not (k.output / "combined_cut_5x.jsonl").exists()
    assert (k.output / "combined_cut_1x.jsonl").exists()


def test_commit_keeps_foreign_files_and_removes_recorded_ones_not_rewritten(tmp_path):
    folder = tmp_path / "out"
    old_output(folder, OLD_FILES, run="old")
    foreign = {FOREIGN: FOREIGN_BYTES, "notes.txt": b"mine\n", "combined_cut_7x.jsonl": b"{}\n"}
    for name, data in foreign.items():
        (folder / name).write_bytes(data)
    sources = tmp_path / "new"
    sources.mkdir()
    with OutputFolder(folder) as out:
        (sources / "combined_cut_1x.jsonl").write_bytes(NEW_FILES["combined_cut_1x.jsonl"])
        out.stage("combined_cut_1x.jsonl", sources / "combined_cut_1x.jsonl")
        out.commit({"run": "new"})
    assert set(check_complete(folder)["files"]) == {"combined_cut_1x.jsonl"}
    assert not (folder / "combined_cut_5x.jsonl").exists()
    assert not (folder / "validation_cut_5x.jsonl").exists()
    for name, data in foreign.items():
        assert (folder / name).read_bytes() == data


@pytest.mark.parametrize("kind", ["parent", "through a subfolder", "absolute"])
def test_a_recorded_name_outside_the_folder_is_never_removed(tmp_path, kind):
    """Beyond the issue's list: a summary.json (edited, or copied from elsewhere) whose `files`
    names a path outside the output folder must not make the next run delete that file."""
    folder = tmp_path / "out"
    old_output(folder, OLD_FILES, run="old")
    (folder / "sub").mkdir()  # a folder of the user's
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(b"precious\n")
    name = {"parent": "../outside.jsonl", "through a subfolder": "sub/../../outside.jsonl",
            "absolute": str(outside)}[kind]
    summary = json.loads((folder / SUMMARY_NAME).read_text())
    summary["files"][name] = record(outside)
    (folder / SUMMARY_NAME).write_text(json.dumps(summary))
    sources = tmp_path / "new"
    sources.mkdir()
    (sources / "combined_cut_1x.jsonl").write_bytes(NEW_FILES["combined_cut_1x.jsonl"])
    with OutputFolder(folder) as out:
        out.stage("combined_cut_1x.jsonl", sources / "combined_cut_1x.jsonl")
        out.commit({"run": "new"})
    assert outside.exists(), f"{outside}, outside the output folder, was removed"


# ------------------------------------------------------------------- 5. bad output locations

def copy_example(folder: Path) -> Path:
    shutil.copytree(EXAMPLE_STEP_03, folder)
    return folder


@pytest.mark.parametrize("where", ["existing file", "inside a set folder", "the input itself",
                                   "holds the input", "under /proc", "under a file"])
def test_bad_output_location_fails_before_any_task(cli, tmp_path, capsys, where):
    inputs = copy_example(tmp_path / "in")
    (tmp_path / "afile").write_text("x\n")
    output = {
        "existing file": tmp_path / "afile",
        "inside a set folder": inputs / "key_facts_to_qa" / "out",
        "the input itself": inputs,
        "holds the input": tmp_path,
        "under /proc": Path("/proc/knowledge-mixing-out"),
        "under a file": tmp_path / "afile" / "out",
    }[where]
    code = cli("run", "--input", inputs, "--output", output, "--cut-sizes", "1")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    line = one_line(captured.err)
    assert f"--output {output}" in line, line
    assert cli.seconds < 5
    if where == "inside a set folder":
        assert not output.exists(), "a folder was made inside the input"
    assert sorted(p.name for p in inputs.iterdir()) == \
        sorted(p.name for p in EXAMPLE_STEP_03.iterdir())  # nothing made in the input


# ------------------------------------------------------------------------ 6. python3 in a path

def test_path_with_python3_runs(good_output):
    """Input and output under …/python3_projects/: the local runner must not rewrite them."""
    result = good_output.result
    assert "python3_projects" in str(good_output.output)
    assert result.returncode == 0, result.stderr
    summary = check_complete(good_output.output)
    assert set(summary["files"]) == {"combined_cut_1x.jsonl", "combined_cut_5x.jsonl",
                                     "combined_cut_1x.card.md", "combined_cut_5x.card.md"}
    assert leftovers(good_output.output) == []


# ---------------------------------------------------------------------------------- 7. symlinks

def small_step_03(folder: Path) -> Path:
    """A step-03 folder with the key-facts set only (its example file)."""
    (folder / "key_facts_to_qa").mkdir(parents=True)
    shutil.copy(EXAMPLE_STEP_03 / "key_facts_to_qa" / "gen.jsonl", folder / "key_facts_to_qa")
    return folder


@pytest.mark.parametrize("kind", ["dangling jsonl", "jsonl loop", "set folder to itself",
                                  "dangling per-set input"])
def test_symlink_faults_are_errors_naming_the_path(tmp_path, kind):
    from knowledge_mixing.stages.load import Step03Reader

    root = small_step_03(tmp_path / "step03")
    set_folder = root / "key_facts_to_qa"
    set_inputs = {}
    if kind == "dangling jsonl":
        bad = set_folder / "more.jsonl"
        bad.symlink_to(set_folder / "gone.jsonl")
    elif kind == "jsonl loop":
        bad = set_folder / "a.jsonl"
        bad.symlink_to(set_folder / "b.jsonl")
        (set_folder / "b.jsonl").symlink_to(bad)
    elif kind == "set folder to itself":
        shutil.rmtree(set_folder)
        bad = set_folder
        bad.symlink_to(bad)
    else:
        bad = tmp_path / "kf.jsonl"
        bad.symlink_to(tmp_path / "gone.jsonl")
        root, set_inputs = None, {"key_facts_to_qa": bad}
    with pytest.raises(InputError) as caught:
        list(Step03Reader(root, set_inputs=set_inputs).batches())
    message = str(caught.value)
    assert str(bad) in message, message
    assert ("loop" in message) == ("loop" in kind or "itself" in kind), message


def test_input_symlink_loop_fails_before_any_task(cli, tmp_path, capsys):
    link = tmp_path / "step03"
    link.symlink_to(link)
    code = cli("run", "--input", link, "--output", tmp_path / "out")
    line = one_line(capsys.readouterr().err)
    assert code in (1, 2) and str(link) in line and "loop" in line, line


# ----------------------------------------------------------------------------------- 8. recipes

BILLION_LAUGHS = "sets: [&a [" + ", ".join(['"lol"'] * 9) + "],\n" + "".join(
    f"  &{name} [" + ", ".join([f"*{previous}"] * 9) + "],\n"
    for previous, name in zip("abcdefgh", "bcdefghi")) + "]\n"
"""The classic: nine levels of nine aliases, 9**9 "lol"s once expanded, as the value of a key
whose wrong type the error message would show."""


def recipe(text: str):
    from knowledge_mixing.recipe import apply_recipe, read_recipe_text

    return apply_recipe(read_recipe_text(text, "r.yaml"), source="r.yaml")


def test_alias_bomb_fails_fast_without_the_expansion(tmp_path):
    """In a child limited to 1 GB and 20 s (the expansion must never happen, here or there)."""
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([sys.executable, str(FAULTS / "read_recipe.py"), str(path)],
                          env=environment(), capture_output=True, text=True, timeout=20,
                          preexec_fn=limited)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["seconds"] < 1
    message = result["error"]
    assert message and "bomb.yaml" in message, message
    assert message.count("lol") <= 1 and len(message) < 400, message


@pytest.mark.parametrize("text", ["sets: &w {key_facts_to_qa: 2}\n",
                                  "seed: 1\nsets: {key_facts_to_qa: 1}\nqa_per_doc: *x\n",
                                  "sets:\n  key_facts_to_qa: &two 2\n  document_based_qa: *two\n"])
def test_recipe_anchors_are_refused(text):
    with pytest.raises(RecipeError, match="anchors"):
        recipe(text)


@pytest.mark.parametrize("text,key,line", [
    ("seed: 1\nqa_per_doc: 2\nseed: 2\n", "seed", 3),
    ("sets:\n  key_facts_to_qa: 1\n  key_facts_to_qa: 2\n", "key_facts_to_qa", 3),
    ('{"seed": 1, "seed": 2}', "seed", 1),
])
def test_recipe_duplicate_key_names_key_and_line(text, key, line):
    with pytest.raises(RecipeError) as caught:
        recipe(text)
    message = str(caught.value)
    assert repr(key) in message and f"line {line}" in message, message


@pytest.mark.parametrize("text", ["validation_fraction: 5e-05\n", '{"validation_fraction": 5e-05}',
                                  "validation_fraction: 0.00005\n"])
def test_recipe_small_validation_fraction_is_accepted(text):
    assert recipe(text).validation_fraction == 5e-05


@pytest.mark.parametrize("text,key", [
    ("sets: {key_facts_to_qa: 101}\n", "sets.key_facts_to_qa"),
    ("sets: {key_facts_to_qa: 1e3}\n", "sets.key_facts_to_qa"),
    ("sets: {document_based_qa: .inf}\n", "sets.document_based_qa"),
    ("target_tokens: 10000000001\n", "target_tokens"),
    ("target_tokens: 1e15\n", "target_tokens"),
])
def test_recipe_out_of_bounds_values_name_the_key(text, key):
    with pytest.raises(RecipeError, match=re.escape(key)):
        recipe(text)


@pytest.mark.parametrize("argv,flag", [
    (["--weight", "key_facts_to_qa=inf"], "--weight"),
    (["--weight", "key_facts_to_qa=nan"], "--weight"),
    (["--weight", "key_facts_to_qa=101"], "key_facts_to_qa"),
    (["--target-tokens", "1000000000000000"], "--target-tokens"),
])
def test_out_of_bounds_flags_are_refused_before_any_work(cli, capsys, argv, flag):
    assert cli("run", *argv, "--output", cli.cwd / "out") == 2
    line = one_line(capsys.readouterr().err)
    assert flag in line, line
    assert not (cli.cwd / "out").exists()


def test_target_needing_more_than_100_copies_names_target_tokens():
    from knowledge_mixing.recipe import Recipe
    from knowledge_mixing.weighting import knowledge_copies, replay_copies

    sets = ["key_facts_to_qa"] * 3
    lengths, ids = [100, 120, 90], [b"a", b"b", b"c"]
    with pytest.raises(ParameterError, match="target_tokens"):
        knowledge_copies(sets, lengths, ids, [False] * 3, Recipe(target_tokens=10**6),
                         ("key_facts_to_qa",))
    # replay at a ratio of the knowledge tokens, from a source of one short row
    with pytest.raises(ParameterError, match=re.escape("replay[0]")):
        replay_copies([30], [b"r"], 1.0, 10**6, Recipe(), "replay:0", "recipe replay[0]")


@pytest.fixture(scope="module")
def empty_cut_run(tmp_path_factory):
    """A recipe whose max_seq_len drops every sample: both cuts (1 and 5) would be empty, and
    their two mix-cut tasks (one ParallelFor) fail at about the same time."""
    base = tmp_path_factory.mktemp("empty_cut")
    (base / "short.yaml").write_text("max_seq_len: 30\n")  # every example row is longer
    output = base / "out"
    result = run(["--input", EXAMPLE_STEP_03, "--output", output, "--cut-sizes", "1,5",
                  "--recipe", base / "short.yaml"], cwd=base)
    return SimpleNamespace(result=result, output=output)


def test_max_seq_len_that_empties_the_cut_fails_saying_why(empty_cut_run):
    """Not two empty files and exit 0: exit 1, the error says the cut would be empty and why."""
    result, output = empty_cut_run.result, empty_cut_run.output
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    line = result.stderr.splitlines()[-1]
    assert "would hold no knowledge sample" in line and "max_seq_len 30" in line, line
    assert "mix-cut" in line, line
    assert not list(output.glob("*.jsonl")) and not (output / SUMMARY_NAME).exists()
    assert leftovers(output) == []


def test_two_tasks_failing_at_once_still_print_one_plain_line(empty_cut_run):
    """The same run: one line on stderr, no ANSI escape codes — whichever mix-cut task fails
    first."""
    result = empty_cut_run.result
    assert ANSI not in result.stderr, result.stderr
    one_line(result.stderr)


# ------------------------------------------------------------------- 9. flags and variables

@pytest.mark.parametrize("argv,variables,named", [
    (["--cut-sizes", "²"], {}, "--cut-sizes"),
    ([], {"CUT_SIZES": "²"}, "CUT_SIZES"),
    (["--seed", "４２"], {}, "--seed"),
    ([], {"SEED": "４２"}, "SEED"),
    (["--qa-per-doc", "３"], {}, "--qa-per-doc"),
])
def test_non_ascii_digits_are_refused_naming_the_setting(cli, capsys, monkeypatch, argv,
                                                         variables, named):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert cli("run", *argv, "--output", cli.cwd / "out") == 2
    line = one_line(capsys.readouterr().err)
    assert f"{named}:" in line or f"{named}=" in line, line


@pytest.mark.parametrize("text,line,words", [
    ("CUT_SIZES=1,5\nthis is not valid\n", 2, ["cannot be read"]),
    ("SEED=1\nB='unterminated\n", 2, ["cannot be read"]),
    ("CUT_SIZE=5\n", 1, ["CUT_SIZE ", "CUT_SIZES"]),
])
def test_bad_env_file_names_file_and_line(cli, capsys, text, line, words):
    env_file = cli.cwd / ".env"
    env_file.write_text(text)
    with pytest.raises(ParameterError) as caught:
        environment_module.read_env_file(env_file)
    assert f"{env_file}, line {line}" in str(caught.value)
    assert cli("run", "--output", cli.cwd / "out") == 2
    message = one_line(capsys.readouterr().err)
    assert f"{env_file}, line {line}" in message and all(w in message for w in words), message


def test_unrelated_env_variable_is_fine(cli, capsys):
    env_file = cli.cwd / ".env"
    env_file.write_text("# the notebook's settings\nOPENAI_API_KEY=x\nCUT_SIZES=1\n")
    assert environment_module.read_env_file(env_file) == {"OPENAI_API_KEY": "x", "CUT_SIZES": "1"}
    with pytest.raises(AssertionError, match="a task would run"):  # every check passed
        cli("run", "--output", cli.cwd / "out")
    assert "Traceback" not in capsys.readouterr().err


def test_submit_host_without_scheme_is_one_line_exit_2(cli, capsys):
    assert cli("submit", "--host", "ds-pipeline-x.apps.cluster") == 2
    line = one_line(capsys.readouterr().err)
    assert "--host" in line and "https://" in line, line


def test_compile_makes_the_missing_folder(cli, capsys):
    target = cli.cwd / "missing_dir" / "x.yaml"
    assert cli("compile", "-o", target) == 0, capsys.readouterr().err
    assert target.is_file() and "pipelineInfo" in target.read_text()


# ---------------------------------------------------------------------------------- 10. messages

@pytest.fixture(scope="module")
def short_failures(tmp_path_factory, corrupt_tokenizer):
    """Runs that fail in their first tasks: no feasible cut (fails in plan-cuts), and a damaged
    tokenizer.json (fails in fetch-tokenizer, the first task) with --debug, with
    KNOWLEDGE_MIXING_DEBUG=1 and with --verbose."""
    base = tmp_path_factory.mktemp("short_failures")
    broken = ["--tokenizer", corrupt_tokenizer, "--cut-sizes", "1"]
    runs = {"plan-cuts": (["--cut-sizes", "10,20"], {}),
            "--debug": ([*broken, "--debug"], {}),
            DEBUG_VARIABLE: (broken, {DEBUG_VARIABLE: "1"}),
            "--verbose": ([*broken, "--verbose"], {})}

    def failed(number: int, args: list, variables: dict) -> SimpleNamespace:
        output = base / f"out{number}"
        result = run(["--input", EXAMPLE_STEP_03, "--output", output, *args], cwd=base,
                     env=environment(**variables))
        return SimpleNamespace(returncode=result.returncode, stdout=result.stdout,
                               stderr=result.stderr, output=output)

    # two at a time: each run spends most of its short life importing, on one CPU
    with ThreadPoolExecutor(max_workers=2) as runs_at_once:
        started = {name: runs_at_once.submit(failed, number, args, variables)
                   for number, (name, (args, variables)) in enumerate(runs.items())}
        return {name: result.result() for name, result in started.items()}


def test_failing_task_is_one_line_naming_error_and_task(short_failures):
    result = short_failures["plan-cuts"]
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    line = one_line(result.stderr)
    assert "no cut size" in line and "plan-cuts" in line, line
    assert ANSI not in result.stdout + result.stderr
    assert not list(result.output.glob("*.jsonl")) and leftovers(result.output) == []


@pytest.mark.parametrize("how", ["--debug", DEBUG_VARIABLE, "--verbose"])
def test_debug_shows_the_traceback_and_verbose_the_runner_logs(short_failures, corrupt_tokenizer,
                                                               how):
    """A failing task (a damaged tokenizer.json, the first task): with --debug or
    KNOWLEDGE_MIXING_DEBUG=1 the traceback comes too; with --verbose the runner's logs (and
    still one line on stderr, naming the damaged file)."""
    result = short_failures[how]
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert str(corrupt_tokenizer / "tokenizer.json") in last and "fetch-tokenizer" in last, last
    assert "Executing task 'fetch-tokenizer'" in result.stdout  # the runner's own log lines
    if how == "--verbose":
        one_line(result.stderr)
    else:
        assert "Traceback" in result.stderr


def test_normal_run_prints_few_plain_lines(good_output):
    result = good_output.result
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 40, result.stdout
    for task in PROGRESS:
        assert sum(line.startswith(f"  {task}") for line in lines) == 1, (task, result.stdout)
    assert ANSI not in result.stdout + result.stderr
    assert result.stderr == ""


# ----------------------------------------------------------------------------- 11. interruptions

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_stops_everything_and_cleans_up(good_output, tmp_path, started, signum):
    output = previous_output(good_output, tmp_path / "out")
    before = snapshot(output)
    running = started(["--input", EXAMPLE_STEP_03, "--output", output, "--cut-sizes", "1,5"],
                      cwd=tmp_path)
    running.read_until("plan:")  # the counting task's processes start next
    deadline = time.monotonic() + 10
    while not (children := descendants(running.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert children, "no task process to stop"
    running.process.send_signal(signum)
    code, out, err = running.finish(timeout=60)
    assert code == 130, err
    assert one_line(err).endswith("interrupted"), err
    assert "Traceback" not in out
    assert wait_gone(children, timeout=5) == [], "the run's tasks outlived it"
    assert not (output / WORK_NAME).exists()
    assert leftovers(output) == []
    assert snapshot(output) == before
    assert (output / LOCK_NAME).read_text() == ""  # released, not abandoned
    with OutputFolder(output) as out_folder:  # the next run can take it
        assert out_folder.taken_over == ""


# ----------------------------------------------------------------------------------- 12. inputs

def key_facts_row(i: int, response: str = "") -> dict:
    return {"document_outline": f"Outline {i}", "document": f"Key facts {i}.",
            "question": f"Question {i}?", "response": response or f"Answer {i}."}


def test_duplicated_input_file_names_both_files(tmp_path):
    from knowledge_mixing.stages.load import Step03Reader

    root = small_step_03(tmp_path / "step03")
    copy = root / "key_facts_to_qa" / "gen (copy).jsonl"
    shutil.copy(root / "key_facts_to_qa" / "gen.jsonl", copy)
    with pytest.raises(InputError) as caught:
        list(Step03Reader(root).batches())
    message = str(caught.value)
    assert str(copy) in message and str(root / "key_facts_to_qa" / "gen.jsonl") in message


def test_huge_response_names_file_line_and_setting(tmp_path):
    from knowledge_mixing.stages.load import LoadOptions, Step03Reader

    path = write_jsonl(tmp_path / "step03" / "key_facts_to_qa" / "gen.jsonl",
                       [key_facts_row(1), key_facts_row(2), key_facts_row(3, "y" * 5000),
                        key_facts_row(4)])
    with pytest.raises(InputError) as caught:
        list(Step03Reader(tmp_path / "step03", LoadOptions(max_sample_chars=1000)).batches())
    message = str(caught.value)
    assert f"{path}, line 3" in message and "max_sample_chars" in message, message
    assert "y" * 100 not in message


def test_corrupt_tokenizer_json_is_named(corrupt_tokenizer):
    from knowledge_mixing.tokenizer import load_tokenizer

    with pytest.raises(TokenizerError) as caught:
        load_tokenizer(str(corrupt_tokenizer))
    assert str(corrupt_tokenizer / "tokenizer.json") in str(caught.value)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_tokenizer_is_refused_before_running(cli, capsys, value):
    assert cli("run", "--tokenizer", value, "--output", cli.cwd / "out") == 2
    assert "--tokenizer" in one_line(capsys.readouterr().err)
    assert not (cli.cwd / "out").exists()
