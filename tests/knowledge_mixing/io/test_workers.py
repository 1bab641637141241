"""The process pool: every CPU the task may use, results in input order."""
import os
import signal

import pytest

from knowledge_mixing.errors import WorkerDied
from knowledge_mixing.io.workers import OrderedPool, available_cpus

_offset = None


def _start(offset):
    global _offset
    _offset = offset


def _work(item):
    return item + _offset, os.getpid(), os.environ.get("TOKENIZERS_PARALLELISM")


def test_available_cpus_is_within_the_affinity():
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize("workers", [1, 3])
def test_results_in_input_order_each_process_set_up_once(workers):
    with OrderedPool(_work, workers, _start, (100,)) as pool:
        results = list(pool.map(iter(range(50))))  # a stream, longer than the in-flight window
    assert [r for r, _, _ in results] == list(range(100, 150))
    pids = {pid for _, pid, _ in results}
    if workers == 1:  # in this process, its tokenizer threads as they are
        assert pids == {os.getpid()}
    else:  # forked processes, each single-threaded
        assert os.getpid() not in pids and len(pids) <= workers
        assert {parallel for _, _, parallel in results} == {"false"}


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
