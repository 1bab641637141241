"""mix_cut: one cut size → its training JSONL, validation rows, metrics and data card."""
import json

import pytest
from helpers import read_jsonl
from kfp import dsl
from standins import artifact, example_chain, planned_with_example_recipe

from components import mix_cut


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


@pytest.mark.parametrize("cut", [1, 5])
def test_writes_the_cut_and_reports_it(chain, cut):
    outputs = chain.cuts[cut]
    mixed, metrics = outputs.mixed, outputs.metrics
    rows = read_jsonl(mixed.path)
    assert open(outputs.validation.path).read() == ""
    assert mixed.metadata["recipe_sha256"] == json.load(open(chain.plan.path))["recipe_sha256"]
    assert mixed.metadata["input_sha256"] == chain.knowledge_rows.metadata["input_sha256"]
    card = open(outputs.card.path).read()
    assert card.startswith(f"# Data card: combined_cut_{cut}x.jsonl (cut {cut})\n\n"
                           f"{len(rows)} samples, ")
    assert mixed.metadata["card_file_name"] == f"combined_cut_{cut}x.card.md"
    # the tokenizer as the count saw it, which is what fetch_tokenizer recorded
    fetched = chain.tokenizer_files.metadata
    assert mixed.metadata["tokenizer"] == {
        "tokenizer": "bundled-qwen", "tokenizer_sha256": {
            "files": fetched["files_sha256"], "chat_template": fetched["chat_template_sha256"]}}
    assert f"Chat template sha256: `{fetched['chat_template_sha256']}`" in card
    assert mixed.metadata["trainer_check"] is None and "## Trainer check\n\nNot run" in card
    assert mixed.metadata["samples"] == metrics.metadata["samples"] == len(rows)
    assert mixed.metadata["tokens"] == sum(r["token_length"] for r in rows)
    assert mixed.metadata["file_name"] == f"combined_cut_{cut}x.jsonl"
    assert outputs.validation.metadata["file_name"] == f"validation_cut_{cut}x.jsonl"
    assert metrics.metadata["key_facts_to_qa.mixed.samples"] == 33
    assert list(rows[0]) == ["question", "document_outline", "raw_document", "document",
                             "messages", "metadata", "unmask", "token_length"]


@pytest.fixture(scope="module")
def under_the_example_recipe(chain, tmp_path_factory):
    """Cut 5 of the chain's samples under examples/recipe.yaml (weights, replay, max_seq_len,
    shuffle, validation hold-out)."""
    work = tmp_path_factory.mktemp("recipe")
    plan, replay = planned_with_example_recipe(chain, work)
    replay.metadata.update(json.loads(json.dumps(replay.metadata), parse_int=float))
    out = {name: artifact(cls, work / name) for name, cls in (
        ("mixed", dsl.Dataset), ("validation", dsl.Dataset), ("metrics", dsl.Metrics),
        ("card", dsl.Markdown))}
    mix_cut.python_func(samples=chain.samples, replay=replay, plan=plan,
                        tokenizer_files=chain.tokenizer_files, cut=5, check_with_trainer=False,
                        **out)
    return out, replay


def test_the_recipe_weights_holds_out_and_mixes_in_replay(under_the_example_recipe):
    out, replay = under_the_example_recipe
    report = out["mixed"].metadata
    rows, validation = read_jsonl(out["mixed"].path), read_jsonl(out["validation"].path)
    assert report["samples"] == len(rows)
    assert out["validation"].metadata["samples"] == len(validation) > 0
    replayed = [r for r in rows if json.loads(r["metadata"])["dataset"] == "replay"]
    assert len(replayed) == report["replay"][0]["mixed"]["samples"] > 0
    assert out["metrics"].metadata["replay0.mixed.samples"] == len(replayed)
    key_facts = report["knowledge"]["key_facts_to_qa"]
    assert key_facts["mixed"]["samples"] == 2 * (key_facts["in_cut"]["samples"]
                                                 - key_facts["validation"]["samples"])
    source = replay.metadata["sources"][0]
    assert report["input_sha256"][source["path"]] == source["sha256"]
    assert len(report["input_sha256"]) == 5  # four set files and the replay source
    replay_at = [i for i, r in enumerate(rows) if r in replayed]  # shuffled in, not appended
    assert report["recipe"]["shuffle"] and replay_at != list(range(len(rows) - len(replayed), len(rows)))
