"""Work spread over every CPU a task may use, results in input order, memory bounded."""
from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import gc
import multiprocessing
import os
from pathlib import Path

from ..errors import WorkerDied


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup CPU limit (a pod's)."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit visible: the affinity is the limit
    return cpus


def _start_process(initializer, initargs: tuple) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per CPU instead of threads
    initializer(*initargs)


class OrderedPool:
    """`work` applied to a stream of items on `workers` forked processes (each set up once by
    `initializer(*initargs)`), results yielded in input order, at most two items per process in
    flight. Each process runs single-threaded (the tokenizer's own threads off); with one worker
    everything runs in this process, threads as they are. A worker that dies (killed on an
    interrupt, out of memory) fails the items waiting for it instead of leaving them waiting."""

    def __init__(self, work, workers: int, initializer, initargs: tuple = ()):
        self.work, self.workers = work, workers
        self.initializer, self.initargs = initializer, initargs
        self.pool = None

    def __enter__(self):
        if self.workers > 1:
            # Fork before the caller reads anything, so the processes do not inherit its memory,
            # with the objects there are frozen: the processes' garbage collector then leaves
            # them alone instead of copying every page it touches.
            gc.freeze()
            try:
                self.pool = concurrent.futures.ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("fork"),
                    initializer=_start_process, initargs=(self.initializer, self.initargs))
                self.pool.submit(int).result()  # the processes start now, not at the first item
            finally:
                gc.unfreeze()
        else:
            self.initializer(*self.initargs)
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=exc[0] is not None)

    def map(self, items):
        if self.pool is None:
            yield from map(self.work, items)
            return
        pending = collections.deque()
        try:
            for item in items:
                pending.append(self.pool.submit(self.work, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except concurrent.futures.process.BrokenProcessPool as e:
            raise WorkerDied(
                f"a worker process of this task died (killed: by the system when the task "
                f"ran out of memory, or by a signal); {self.workers} processes were counting, "
                "so give the task more memory, or more shards") from e
