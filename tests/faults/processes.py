"""`python pipeline.py run` as a child process: its environment, starting it, reading it up to a
line, its descendants, and whether they are gone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from knowledge_mixing.parameters import SETTINGS

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "pipeline.py"
DEBUG_VARIABLE = "KNOWLEDGE_MIXING_DEBUG"
SETTING_VARIABLES = tuple(v for s in SETTINGS if s.variable for v in (s.variable, *s.aliases))
"""Every variable a run reads its settings from."""


def environment(**extra: str) -> dict:
    """This environment without any setting's variable, importing the code under test (not an
    installed copy), offline."""
    env = {k: v for k, v in os.environ.items() if k not in (*SETTING_VARIABLES, DEBUG_VARIABLE)}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    env.update(extra)
    return env


def run(args, cwd: Path, env: dict | None = None, timeout: float = 120,
        preexec_fn=None) -> subprocess.CompletedProcess:
    """`python pipeline.py run ARGS` to its end."""
    return subprocess.run([sys.executable, str(PIPELINE), "run", *map(str, args)], cwd=cwd,
                          env=env or environment(), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec_fn)


class Started:
    """A `pipeline.py run` that keeps running while the test reads its stdout line by line."""

    def __init__(self, args, cwd: Path, env: dict | None = None):
        self.process = subprocess.Popen(
            [sys.executable, str(PIPELINE), "run", *map(str, args)], cwd=cwd,
            env=env or environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.process.pid
        self.lines: list[str] = []

    def read_until(self, text: str) -> str:
        """Read stdout up to the first line holding `text`; fail if the run ends first."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=60)
                raise AssertionError(
                    f"the run ended (exit {self.process.returncode}) before printing {text!r}; "
                    f"stdout: {''.join(self.lines)!r}; stderr: {self.process.stderr.read()!r}")
            self.lines.append(line)
            if text in line:
                return line

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """Exit status, the rest of stdout (with what was read before) and stderr."""
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.lines) + out, err

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Clean-up after a failed test: this run and what it started, by their ids."""
        if self.running():
            for pid in [*descendants(self.pid), self.pid]:
                kill(pid)
            self.process.wait(timeout=30)


def descendants(pid: int) -> list[int]:
    """Every process started under `pid` (Linux /proc), children first."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in children.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in descendants(child)]


def is_alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


def wait_gone(pids, timeout: float) -> list[int]:
    """The pids still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if is_alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
