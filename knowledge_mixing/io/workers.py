"""Work spread over every CPU a task may use, results in input order, memory bounded."""
from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
from pathlib import Path

import pyarrow as pa

from ..errors import WorkerDied

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_V1_CPU = ("cpu", "cpu,cpuacct")
"""Where cgroup v1 mounts the CPU controller (both names occur; one is often a link)."""
UNLIMITED_V1_MEMORY = 1 << 60
"""cgroup v1 reports "no memory limit" as a number near 2^63 (rounded to the page size)."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # not this cgroup version, or not visible here: no limit from it
        return None


def cpu_quotas(root: Path = CGROUP_ROOT) -> list[float]:
    """The CPU limits the cgroup files under `root` set, in CPUs: cgroup v2's `cpu.max` and
    cgroup v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` (a pod's CPU limit lands in one)."""
    quotas = []
    v2 = _read(root / "cpu.max")
    if v2 and not v2.startswith("max"):
        quota, period = v2.split()
        quotas.append(int(quota) / int(period))
    for folder in CGROUP_V1_CPU:
        quota, period = (_read(root / folder / f"cpu.cfs_{name}_us")
                         for name in ("quota", "period"))
        if quota and period and int(quota) > 0:
            quotas.append(int(quota) / int(period))
    return quotas


def memory_limit(root: Path = CGROUP_ROOT) -> int | None:
    """The memory limit in bytes the cgroup files under `root` set (v2 `memory.max`, v1
    `memory/memory.limit_in_bytes`), or None without one."""
    limits = []
    v2 = _read(root / "memory.max")
    if v2 and v2 != "max":
        limits.append(int(v2))
    v1 = _read(root / "memory" / "memory.limit_in_bytes")
    if v1 and int(v1) < UNLIMITED_V1_MEMORY:
        limits.append(int(v1))
    return min(limits) if limits else None


def available_cpus(root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may use: its affinity, capped by every cgroup CPU limit (a pod's),
    rounded down (a pod limited to 1.5 CPUs runs one process at full speed, not two throttled)."""
    return max(1, min([len(os.sched_getaffinity(0)),
                       *(int(quota) for quota in cpu_quotas(root))]))


def pool_size(bytes_per_worker: int, bytes_reserved: int, root: Path = CGROUP_ROOT) -> int:
    """Worker processes for a pool: one per available CPU, but no more than the memory limit
    holds at `bytes_per_worker` each after `bytes_reserved` for the process that feeds them."""
    cpus = available_cpus(root)
    limit = memory_limit(root)
    if limit is None:
        return cpus
    return max(1, min(cpus, (limit - bytes_reserved) // bytes_per_worker))


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """This process is killed when `parent` (the process that forked it) ends, however it ends
    (Linux; elsewhere nothing): a process whose parent was killed would otherwise run on,
    holding the pipes and files it inherited."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before that was set
        os._exit(1)


def _start_process(parent: int, initializer, initargs: tuple) -> None:
    die_with_parent(parent)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per CPU instead of threads
    # Arrow's default allocator (mimalloc) keeps much of what was freed (a counting process held
    # 12 - 30 MB more on the benchmark's inputs); the system's allocator gives it back at
    # release_memory
    pa.set_memory_pool(pa.system_memory_pool())
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
                    initializer=_start_process,
                    initargs=(os.getpid(), self.initializer, self.initargs))
                self.pool.submit(int)  # the processes start now, not at the first item
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
