"""The process pool: every CPU the task may use, results in input order; CPUs and memory
from fake cgroup trees laid out as the kernel mounts them in a container."""
import os
import subprocess
import sys
import time
from pathlib import Path
import signal

import pyarrow as pa
import pytest

from knowledge_mixing.errors import WorkerDied
from knowledge_mixing.io.workers import (
    OrderedPool,
    available_cpus,
    cpu_quotas,
    memory_limit,
    pool_size,
)

GIB = 1 << 30
AFFINITY = len(os.sched_getaffinity(0))

_offset = None


def _start(offset):
    global _offset
    _offset = offset


def _work(item):
    return item + _offset, os.getpid(), (os.environ.get("TOKENIZERS_PARALLELISM"),
                                         pa.default_memory_pool().backend_name)


def test_available_cpus_is_within_the_affinity():
    assert 1 <= available_cpus() <= AFFINITY


def cgroup(root, files: dict):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


@pytest.mark.parametrize("files,quotas", [
    ({}, []),                                                         # nothing visible
    ({"cpu.max": "max 100000"}, []),                                  # v2, no limit
    ({"cpu.max": "150000 100000"}, [1.5]),                            # v2: 1.5 CPUs
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, []),  # v1, no limit
    ({"cpu,cpuacct/cpu.cfs_quota_us": "200000",
      "cpu,cpuacct/cpu.cfs_period_us": "100000"}, [2.0]),            # v1: 2 CPUs
    ({"cpu.max": "400000 100000", "cpu/cpu.cfs_quota_us": "50000",
      "cpu/cpu.cfs_period_us": "100000"}, [4.0, 0.5]),               # both visible
])
def test_cpu_quotas_from_cgroup_v2_and_v1(tmp_path, files, quotas):
    assert cpu_quotas(cgroup(tmp_path, files)) == quotas


def test_available_cpus_is_the_smallest_limit_rounded_down_and_at_least_one(tmp_path):
    assert available_cpus(tmp_path) == AFFINITY
    cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"})
    assert available_cpus(tmp_path) == 1
    big = cgroup(tmp_path / "big", {"cpu.max": f"{(AFFINITY + 8) * 100000} 100000"})
    assert available_cpus(big) == AFFINITY


@pytest.mark.parametrize("files,limit", [
    ({}, None),
    ({"memory.max": "max"}, None),
    ({"memory.max": str(8 * GIB)}, 8 * GIB),
    ({"memory/memory.limit_in_bytes": "9223372036854771712"}, None),  # v1 without a limit
    ({"memory/memory.limit_in_bytes": str(2 * GIB)}, 2 * GIB),
    ({"memory.max": str(8 * GIB), "memory/memory.limit_in_bytes": str(2 * GIB)}, 2 * GIB),
])
def test_memory_limit_from_cgroup_v2_and_v1(tmp_path, files, limit):
    assert memory_limit(cgroup(tmp_path, files)) == limit


def test_pool_size_is_bounded_by_the_cpus_and_the_memory_limit(tmp_path):
    """The v1 node of the issue: no CPU limit visible but a 2Gi pod: not one process per CPU."""
    many_cpus = {"cpu.max": f"{64 * 100000} 100000"}
    assert pool_size(GIB // 2, GIB // 2, cgroup(tmp_path / "a", many_cpus)) == AFFINITY
    v1_pod = cgroup(tmp_path / "b", {"memory/memory.limit_in_bytes": str(2 * GIB)})
    assert pool_size(GIB // 2, GIB // 2, v1_pod) == min(AFFINITY, 3)
    tiny = cgroup(tmp_path / "c", {"memory.max": str(GIB // 2)})
    assert pool_size(GIB // 2, GIB // 2, tiny) == 1


@pytest.mark.parametrize("workers", [1, 3])
def test_results_in_input_order_each_process_set_up_once(workers):
    with OrderedPool(_work, workers, _start, (100,)) as pool:
        results = list(pool.map(iter(range(50))))  # a stream, longer than the in-flight window
    assert [r for r, _, _ in results] == list(range(100, 150))
    pids = {pid for _, pid, _ in results}
    if workers == 1:  # in this process, its tokenizer threads and Arrow allocator as they are
        assert pids == {os.getpid()}
        assert {setup for _, _, setup in results} == {
            (os.environ.get("TOKENIZERS_PARALLELISM"), pa.default_memory_pool().backend_name)}
    else:  # forked processes, each single-threaded, on the allocator that gives memory back
        assert os.getpid() not in pids and len(pids) <= workers
        assert {setup for _, _, setup in results} == {("false", "system")}


def test_a_failing_item_fails_the_map():
    with pytest.raises(TypeError):
        with OrderedPool(_work, 2, _start, (1,)) as pool:
            list(pool.map(["not a number"]))


def _die(item):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_dies_fails_the_items_instead_of_hanging():
    with pytest.raises(WorkerDied, match="a worker process of this task died"):
        with OrderedPool(_die, 2, lambda: None) as pool:
            list(pool.map(range(4)))


DIES_WITH_PARENT = """
import os, time
from knowledge_mixing.io.workers import die_with_parent

parent = os.getpid()
child = os.fork()
if child == 0:
    die_with_parent(parent)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(60)
"""


def test_a_process_dies_with_its_parent():
    """A task's fork or a counting process whose parent was killed does not run on, holding
    what it inherited (the output folder's lock, the output pipes)."""
    parent = subprocess.Popen([sys.executable, "-c", DIES_WITH_PARENT], stdout=subprocess.PIPE,
                              text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.5)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break  # dead, waiting for whoever adopted it to reap it
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{child}").exists(), "the child outlived its killed parent"
