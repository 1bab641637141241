"""Running the real pipeline on this machine with the KFP local runner, and committing its
outputs (the cut files and summary.json) to the output folder as one transaction.

The runner's own logs go to a log file (and to the terminal with --verbose); the terminal gets
one progress line per task and, on failure, one line: the error and the task it happened in.
"""
import builtins
import contextlib
import importlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path

from knowledge_mixing.errors import LocalRunError, TaskProcessError
from knowledge_mixing.io.output_folder import OutputFolder
from knowledge_mixing.io.workers import die_with_parent
from knowledge_mixing.logs import LOG_FORMAT, PROGRESS_MARK

LOG_NAME = ".knowledge-mixing.log"
"""The last run's full log, inside the output folder."""
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REAL_PRINT = builtins.print


class LogRouter:
    """Where the local runner's output goes: every line to the log file (and to the terminal with
    `verbose`); the stages' progress lines to the terminal; the task that is running and the last
    exception line remembered, so a failed run can end with its cause in one line."""

    EXCEPTION_LINE = re.compile(
        r"^\s*(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception)|Exception): (.+)$")
    DISK_FULL = re.compile(r"No space left on device|File too large|Disk quota exceeded|"
                           r"os error (?:27|28|122)|Errno (?:27|28|122)")
    TASK_FAILED = re.compile(r"Task '([\w-]+)' finished with status FAILURE")

    def __init__(self, log_file, terminal, verbose: bool):
        self.log_file, self.terminal, self.verbose = log_file, terminal, verbose
        self.last_error = self.failed_task = None
        self._lock = threading.Lock()
        self._partial: dict[int, str] = {}  # per thread: text not yet ended by a newline
        self.in_fork = False

    def write(self, text: str) -> int:
        with self._lock:
            thread = threading.get_ident()
            text = self._partial.pop(thread, "") + text
            *lines, rest = text.split("\n")
            if rest:
                self._partial[thread] = rest
            for line in lines:
                self._line(ANSI.sub("", line))
        return len(text)

    def _line(self, line: str) -> None:
        if self.log_file is not None:
            try:
                self.log_file.write(line + "\n")
            except OSError:  # a full disk: the run's own error says so; keep the terminal going
                self.log_file = None
        if self.verbose:
            self.terminal.write(line + "\n")
        elif PROGRESS_MARK in line:
            self.terminal.write("  " + line.split(PROGRESS_MARK, 1)[1] + "\n")
            self.terminal.flush()
        if match := self.EXCEPTION_LINE.match(line):
            self.last_error = f"{match.group(1)}: {match.group(2)}"
        if match := self.TASK_FAILED.search(line):
            self.failed_task = self.failed_task or match.group(1)

    def end_lines(self) -> None:
        """Write out what the threads wrote without ending it by a newline."""
        with self._lock:
            for thread in list(self._partial):
                self._line(ANSI.sub("", self._partial.pop(thread)))

    def into(self, stream) -> None:
        """Every line to `stream` from now on, in a fork of this process: the parent's log file
        and terminal, and a lock another thread of the parent may have held, are left alone, as
        is what the parent's other threads had written of a line (a ParallelFor's other task).
        A flush there passes on what is written so far, ended or not (as a process's would)."""
        self._lock = threading.Lock()
        self._partial = {}
        self.log_file, self.terminal, self.verbose = None, stream, True
        self.in_fork = True

    def flush(self) -> None:
        if self.in_fork:
            self.end_lines()
        if self.log_file is not None:
            with contextlib.suppress(OSError):
                self.log_file.flush()
        self.terminal.flush()

    def isatty(self) -> bool:
        return False

    def failure(self, error: Exception, output: Path) -> str:
        """One line: the cause, and the task it happened in."""
        where = f"task {self.failed_task}" if self.failed_task else "the local runner"
        cause = self.last_error or ANSI.sub("", str(error))
        if self.DISK_FULL.search(cause):
            cause += (f"; the disk of {output} (where the run keeps its work files) is full, or "
                      "a file size limit was reached: free some space or choose another --output")
        return f"{cause} (in {where})"


@contextlib.contextmanager
def python_paths_kept():
    """The KFP local runner replaces the text `python3` in every argument of a task's command
    with this interpreter's path (kfp/local/subprocess_task_handler.py,
    `replace_python_executable`), the task's executor input included, so a path holding
    `python3` (a checkout under ~/python3_projects) arrives mangled. Keep the executor input
    as it is; the rest is rewritten as before."""
    from kfp.local import subprocess_task_handler as handler

    original = handler.replace_python_executable

    def replace_outside_executor_input(full_command, new_executable):
        rewritten = original(full_command, new_executable)
        for index, part in enumerate(full_command[:-1]):
            if part == "--executor_input":
                rewritten[index + 1] = full_command[index + 1]
        return rewritten

    handler.replace_python_executable = replace_outside_executor_input
    try:
        yield
    finally:
        handler.replace_python_executable = original


@contextlib.contextmanager
def our_tasks_in_forks(router: LogRouter):
    """The local runner starts a Python process per task, and each one imports kfp, pyarrow
    and the tokenizer library again (about two seconds before any work). Our components run
    instead in a fork of this process, which has imported them once, through the same KFP
    executor with the same executor input: the same function on the same inputs, the same bytes.
    Each task's memory goes back to the system when its fork ends, and the tasks of a ParallelFor
    run on their own CPUs. A task whose command is not one of our components' (a plug-in's)
    keeps its own process, as does one with environment variables. The fork's output reaches
    the router line by line, as a task process's does; the stages log on a logger of their own
    (the runner swaps the root logger's handlers around each task)."""
    import logging

    from kfp.local import status
    from kfp.local import subprocess_task_handler as handler

    import components

    ours = {}
    for name in components.__all__:
        component = getattr(components, name)
        container = component.component_spec.implementation.container
        ours[tuple(container.command)] = component
    original = handler.SubprocessTaskHandler.run
    stages_log = logging.getLogger("knowledge_mixing")
    lines = logging.StreamHandler(router)
    lines.setFormatter(logging.Formatter(LOG_FORMAT))
    forks = TaskForks(router)

    def run(task):
        command = task.full_command
        component = next((c for prefix, c in ours.items()
                          if tuple(command[:len(prefix)]) == prefix), None)
        if component is None or task.env_vars or "--executor_input" not in command:
            return original(task)
        executor_input = json.loads(command[command.index("--executor_input") + 1])
        succeeded = forks.run(component, executor_input)
        return status.Status.SUCCESS if succeeded else status.Status.FAILURE

    stages_log.addHandler(lines)
    stages_log.setLevel(logging.INFO)
    stages_log.propagate = False
    handler.SubprocessTaskHandler.run = run
    try:
        yield
    finally:
        handler.SubprocessTaskHandler.run = original
        stages_log.removeHandler(lines)
        stages_log.propagate = True


FIRST_TASK_MODULES = ("transformers.models.auto.tokenization_auto",)
"""What the first task (the tokenizer's fetch, which the local runner runs before the load)
imports: imported before the first fork."""
TASK_MODULES = ("knowledge_mixing.stages.load", "knowledge_mixing.stages.plan",
                "knowledge_mixing.stages.replay", "knowledge_mixing.stages.count",
                "knowledge_mixing.stages.gather", "knowledge_mixing.stages.mix",
                "knowledge_mixing.stages.select", "pyarrow.dataset")
"""What the other tasks import: imported once, as soon as the first task is forked, while it
runs on a CPU of its own (0.3 s of every run, most of it pandas), and before any other fork:
each later fork (and the counting processes each forks) starts with them."""
PANDAS_MODULES = ("pandas", "pyarrow.pandas_compat")
"""What pyarrow imports the first time it converts Python values, where pandas is installed (as
`datasets` needs it): 0.15 s of every task and counting process, unless imported before."""


class TaskForks:
    """Runs a component's function in a fork of this process, its output read back line by
    line. Forks made at once (a ParallelFor's) must not hold each other's output pipes open,
    or a task would look unfinished until the other ends: each fork closes the others'. A fork
    leads a process group of its own, and what it leaves running when it ends (its counting
    processes, after it was killed) is killed with the group; a fork dies with this process."""

    def __init__(self, router: LogRouter):
        self.router = router
        self._lock = threading.Lock()
        self._pipe_ends: set[int] = set()  # write ends of the running forks' output pipes
        for module in FIRST_TASK_MODULES:
            importlib.import_module(module)
        self._all_imported = False

    def _import_for_later_tasks(self) -> None:
        """TASK_MODULES and PANDAS_MODULES, once; called holding the fork lock, so no fork is
        made in the middle of an import (a fork would inherit the module's lock held, and hang
        importing it). A failure is raised once the task forked before it has ended."""
        for module in TASK_MODULES:
            importlib.import_module(module)
        try:
            for module in PANDAS_MODULES:
                importlib.import_module(module)
        except ImportError:  # as pyarrow does: a pandas that cannot be imported is not used
            pass
        self._all_imported = True

    def run(self, component, executor_input: dict) -> bool:
        with self._lock:
            read_end, write_end = os.pipe()
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:
                self._in_fork(component, executor_input, read_end, write_end, parent)
            with contextlib.suppress(OSError):  # set on both sides: whichever comes first
                os.setpgid(pid, pid)
            self._pipe_ends.add(write_end)
            import_failure = None
            if not self._all_imported:
                try:
                    self._import_for_later_tasks()
                except Exception as error:  # noqa: BLE001 — raised once this task has ended
                    import_failure = error
        ended = {}

        def reap():
            ended["status"] = os.waitpid(pid, 0)[1]
            with contextlib.suppress(OSError):  # what it left running holds the pipe open
                os.killpg(pid, signal.SIGKILL)

        reaper = threading.Thread(target=reap, name=f"reap task process {pid}", daemon=True)
        reaper.start()
        with os.fdopen(read_end, encoding="utf-8", errors="replace") as output:
            with self._lock:
                os.close(write_end)
                self._pipe_ends.discard(write_end)
            for line in output:
                print(line, end="")
        reaper.join()
        if import_failure is not None:
            raise import_failure
        code = os.waitstatus_to_exitcode(ended["status"])
        if code not in (0, 1):  # 1: a Python error, whose trace the task printed
            print(f"{TaskProcessError.__name__}: " + (
                f"the task's process was killed by {signal.Signals(-code).name} (by the system "
                "when the task ran out of memory, or by someone)" if code < 0 else
                f"the task's process ended with exit status {code} and no Python error"))
        return code == 0

    def _in_fork(self, component, executor_input: dict, read_end: int, write_end: int,
                 parent: int):
        """The fork's whole life: its output into the pipe, the task, and an exit that runs
        nothing of the parent's (no atexit, no clean-up of the run's folders)."""
        import gc

        from kfp.dsl import executor

        code = 1
        try:
            os.setpgid(0, 0)
            die_with_parent(parent)
            for signum in (signal.SIGINT, signal.SIGTERM):  # stopped as a task process would be
                signal.signal(signum, signal.SIG_DFL)
            os.close(read_end)
            for end in self._pipe_ends:
                os.close(end)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            os.close(write_end)
            # the log handlers write to the router; so does everything printed
            self.router.into(open(1, "w", buffering=1, encoding="utf-8", closefd=False))
            sys.stdout = sys.stderr = self.router
            builtins.print = REAL_PRINT  # the runner indents what the task prints, once
            gc.freeze()  # the parent's objects: left alone, their pages stay shared
            executor.Executor(executor_input, component).execute()
            code = 0
        except BaseException:  # noqa: BLE001 — the task fails, as its process would, with its trace
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                self.router.flush()
            os._exit(code)


@contextlib.contextmanager
def log_file_at(path: Path):
    """The run's log file; a full disk may refuse its last lines, which must not hide the run's
    own error."""
    log_file = open(path, "w", encoding="utf-8")
    try:
        yield log_file
    finally:
        with contextlib.suppress(OSError):
            log_file.close()


@contextlib.contextmanager
def builtin_print_kept():
    """The local runner indents its tasks' output by replacing `print` while a task runs; two
    tasks of a ParallelFor running at once can leave the replacement in place for good. Put the
    real one back."""
    try:
        yield
    finally:
        builtins.print = REAL_PRINT


@contextlib.contextmanager
def temporary_files_in(folder: Path):
    """This process's and the tasks' temporary files under `folder` (the run's work folder)."""
    previous_env, previous_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous_dir
        if previous_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_env


def run_locally(sources: dict, output_dir: Path, parameters: dict, verbose: bool = False) -> dict:
    """Run the real pipeline with the KFP local runner on `sources` (`step03` and/or set names →
    paths, imported by URI) and commit its outputs to output_dir."""
    from kfp import local

    from launch.cluster import ClusterSettings
    from pipeline import PipelineOptions, build_pipeline, uri_parameter

    # The local runner warns that our base image may not be Python (it is, and locally the
    # components run on this environment's installed copy of the same code) and that cluster
    # settings do not apply on this machine.
    warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
    warnings.filterwarnings("ignore", message=".*have no effect in the current local runner")
    # Python 3.12+ warns that forking a process with threads may deadlock the fork on a lock
    # another thread held: a task's fork writes only to its own pipe (TaskForks._in_fork)
    warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks",
                            category=DeprecationWarning)
    with OutputFolder(output_dir) as folder:
        if folder.taken_over:
            print(f"  (the lock of a run that ended without releasing it was taken over: "
                  f"{folder.taken_over})")
        work = folder.work_folder()
        with log_file_at(output_dir / LOG_NAME) as log_file, temporary_files_in(work), \
                python_paths_kept():
            router = LogRouter(log_file, sys.stdout, verbose)
            local.init(runner=local.SubprocessRunner(use_venv=False),
                       pipeline_root=str(work / "pipeline"))
            try:
                # stderr too: the runner's logging falls back to it while parallel tasks swap
                # the root logger's handlers
                with contextlib.redirect_stdout(router), contextlib.redirect_stderr(router), \
                        builtin_print_kept(), our_tasks_in_forks(router):
                    outputs = build_pipeline(PipelineOptions(
                        settings=ClusterSettings(set_resources=False), sources=tuple(sources)))(
                        **{uri_parameter(name): str(path.resolve())
                           for name, path in sources.items()},
                        **parameters).outputs
            except RuntimeError as e:
                raise LocalRunError(router.failure(e, output_dir)) from e
        # the summary a cluster run has too (select_cut's); the commit adds the files' record
        summary = json.loads(Path(outputs["run_summary"].path).read_text(encoding="utf-8"))
        for artifact, validation, card in zip(outputs["cuts"], outputs["validation_cuts"],
                                              outputs["cards"]):
            folder.stage(artifact.metadata["file_name"], Path(artifact.path),
                         artifact.metadata["file_record"])
            if summary["recipe"]["validation_fraction"]:
                folder.stage(validation.metadata["file_name"], Path(validation.path),
                             validation.metadata["file_record"])
            folder.stage(artifact.metadata["card_file_name"], Path(card.path))
        return folder.commit(summary)
