"""Handing freed memory back between batches: every RELEASE_EVERY-th batch, not every one."""
from knowledge_mixing.io import memory
from knowledge_mixing.io.memory import RELEASE_EVERY, release_memory_every


def test_memory_is_handed_back_after_every_release_every_th_batch(monkeypatch):
    released_after = []
    batch = 0
    monkeypatch.setattr(memory, "release_memory", lambda: released_after.append(batch))
    for batch in range(1, 3 * RELEASE_EVERY + 3):
        release_memory_every(batch)
    assert released_after == [RELEASE_EVERY, 2 * RELEASE_EVERY, 3 * RELEASE_EVERY]
