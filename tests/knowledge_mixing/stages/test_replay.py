"""The replay stage: replay sources read, checked and counted once for all cuts
(docs/behaviour.md#row-format, #token-counting). Replay mixed into cuts: stages/test_mix.py."""
import hashlib
import json

import pyarrow.parquet as pq
import pytest
from helpers import CHAT, count_replay, read_jsonl, trainer_counts, write_jsonl

from knowledge_mixing.errors import InputError
from knowledge_mixing.recipe import apply_recipe
from knowledge_mixing.sampling import text_id
from knowledge_mixing.stages.replay import REPLAY_SCHEMA, replay_rows, replay_stage

GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


@pytest.mark.parametrize("bad,message", [
    ({"text": "no messages"}, "line 2: `messages` must be a non-empty list of {role, content} turns"),
    ({"messages": []}, "line 2: `messages` must be a non-empty list"),
    ({"messages": ["Hi"]}, "line 2: messages[0] is not an object"),
    ({"messages": [{"role": "tool", "content": "x"}]},
     "line 2: messages[0].role is 'tool'; the trainer takes system, user, assistant"),
    ({"messages": [{"role": "user", "content": 3}]}, "line 2: messages[0].content must be a string"),
    ({"messages": [{"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "a", "thinking": 1}]},
     "line 2: messages[1].thinking must be a string when given"),
    ({"messages": [{"role": "user", "content": "Hi"}]},
     "line 2: no assistant turn, so the row would train nothing"),
    ({**GOOD, "unmask": "yes"}, "line 2: `unmask` must be true or false, got 'yes'"),
])
def test_bad_replay_rows_name_the_file_and_line(tmp_path, bad, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, bad])
    with pytest.raises(InputError) as raised:
        list(replay_rows(str(path)))
    assert str(raised.value).startswith(f"{path}, {message}")


def test_replay_rows_and_their_fingerprint(tmp_path):
    rows = [GOOD, {**GOOD, "unmask": True, "metadata": {"id": 7}}]
    path = write_jsonl(tmp_path / "chat.jsonl", rows)
    digest = hashlib.sha256()
    assert list(replay_rows(str(path), digest)) == [
        (1, GOOD["messages"], False, None), (2, GOOD["messages"], True, {"id": 7})]
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unreadable_replay_files_fail_before_any_counting(tmp_path):
    (tmp_path / "broken.jsonl").write_text(json.dumps(GOOD) + '\n{"messages": [\n')
    with pytest.raises(InputError, match=r"broken.jsonl, line 2, column \d+: not valid JSON"):
        list(replay_rows(str(tmp_path / "broken.jsonl")))
    with pytest.raises(InputError, match=r"replay source .*missing.jsonl: no such file; give a chat "
                       r"JSONL path the mixing tasks can read"):
        list(replay_rows(str(tmp_path / "missing.jsonl")))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InputError, match=r"replay source .*empty.jsonl: the file holds no rows"):
        count_replay([{"path": str(tmp_path / "empty.jsonl"), "token_ratio": 0.1}], tmp_path)


def test_without_replay_sources_the_file_is_empty(tmp_path):
    path = tmp_path / "replay.parquet"
    measured = replay_stage(apply_recipe({}), "no tokenizer is loaded", False, str(path))
    assert measured.metadata == {"replay": {"sources": []}}
    assert pq.read_table(path).num_rows == 0 and pq.read_schema(path).equals(REPLAY_SCHEMA)


def test_replay_rows_become_output_rows_with_their_source(chat_replay):
    path, sources = chat_replay
    chat = read_jsonl(CHAT)
    table = pq.read_table(path)
    assert table.schema.equals(REPLAY_SCHEMA)
    assert table["source"].to_pylist() == [0] * len(chat)
    assert sources == [{"path": str(CHAT), "sha256": hashlib.sha256(CHAT.read_bytes()).hexdigest(),
                        "rows": len(chat), "tokens": sum(table["token_length"].to_pylist()),
                        "empty_reasoning": 0}]
    for line, (row, length, sample_id) in enumerate(zip(
            table["row_json"].to_pylist(), table["token_length"].to_pylist(),
            table["sample_id"].to_pylist()), start=1):
        row = json.loads(row)
        assert row["messages"] == chat[line - 1]["messages"] and row["unmask"] is False
        assert row["token_length"] == length
        assert json.loads(row["metadata"]) == {"dataset": "replay", "replay_source": str(CHAT),
                                               "line": line,
                                               "source_metadata": chat[line - 1]["metadata"]}
        assert sample_id == text_id(json.dumps([row["messages"], False], sort_keys=True))


def with_reasoning(keys: dict, unmask: bool | None = None, on: str = "assistant") -> dict:
    messages = [{"role": "user", "content": "Which module buffers random access streams?"},
                {"role": "assistant", "content": "io.BufferedRandom does."}]
    messages[0 if on == "user" else 1].update(keys)
    return {"messages": messages, **({} if unmask is None else {"unmask": unmask})}


def test_empty_reasoning_keys_are_kept_counted_as_the_trainer_counts_them_and_reported(
        tmp_path, tokenizers):
    """instructlab-training turns its reasoning wrapping on for any `thinking` or
    `reasoning_content` of a trained turn that is not None, "" included: such rows are written
    unchanged, counted with the wrapping on (tests/test_consumer.py checks it against the real
    trainer), and reported, since with some chat templates they leave the end-of-turn token
    untrained."""
    rows = [with_reasoning({}), with_reasoning({"thinking": None}),
            with_reasoning({"thinking": ""}), with_reasoning({"reasoning_content": " "}),
            with_reasoning({"thinking": "Recall io."}),
            with_reasoning({"reasoning_content": ""}, unmask=True),
            with_reasoning({"thinking": ""}, on="user"),  # not trained without unmask: no wrapping
            with_reasoning({"thinking": ""}, unmask=True, on="user")]
    path = write_jsonl(tmp_path / "replay.jsonl", rows)
    replay, sources = count_replay([{"path": str(path), "token_ratio": 0.1}], tmp_path)
    table = pq.read_table(replay)
    assert [json.loads(r)["messages"] for r in table["row_json"].to_pylist()] == \
        [r["messages"] for r in rows]
    unmask = [r.get("unmask", False) for r in rows]
    assert table["token_length"].to_pylist() == trainer_counts(
        tokenizers("qwen", "trainer"), [r["messages"] for r in rows], unmask)
    assert sources[0]["empty_reasoning"] == 4  # rows 3, 4, 6 and 8


@pytest.mark.parametrize("kind", ["qwen", "bos", "sentencepiece", "wordpiece"])
def test_replay_rows_are_counted_as_the_trainer_counts_them(tokenizer_dirs, tokenizers, tmp_path,
                                                           kind):
    """With each kind of tokenizer, the stage counts every replay row as the trainer does under
    the row's own `unmask`: false (absent) trains only the assistant turns, true every non-system
    turn; system turns and reasoning included (docs/behaviour.md#token-counting)."""
    chat = read_jsonl(CHAT)
    reasoning = {"messages": [{"role": "system", "content": "Think first."},
                              {"role": "user", "content": "What is 6 times 7?"},
                              {"role": "assistant", "content": "42.",
                               "reasoning_content": "Six sevens are forty-two."}]}
    rows = chat + [{**row, "unmask": True} for row in chat] + [reasoning, {**reasoning, "unmask": True}]
    path = write_jsonl(tmp_path / "replay.jsonl", rows)
    replay, _ = count_replay([{"path": str(path), "token_ratio": 0.1}], tmp_path,
                             tokenizer=str(tokenizer_dirs[kind]))
    lengths = pq.read_table(replay)["token_length"].to_pylist()
    unmask = [row.get("unmask", False) for row in rows]
    expected = trainer_counts(tokenizers(kind, "trainer"), [r["messages"] for r in rows], unmask)
    assert lengths == expected
    assert [json.loads(r)["unmask"] for r in pq.read_table(replay)["row_json"].to_pylist()] == unmask
    # where the markers around user turns change the tokens (a SentencePiece prefix space after
    # each marker), the same conversation counts more under `unmask: true`: an ignored flag shows
    as_false = lengths[:len(chat)] + lengths[-2:-1]
    as_true = lengths[len(chat):2 * len(chat)] + lengths[-1:]
    if kind == "sentencepiece":
        assert all(true > false for false, true in zip(as_false, as_true))
