"""load_knowledge: the knowledge sets (the step-03 folder, or one Dataset per set) → the knowledge
rows table, with counts per set and the inputs' fingerprints."""
import hashlib
import shutil

import pytest
from helpers import EXAMPLE_STEP_03
from kfp import dsl
from standins import artifact, example_chain

from components import load_knowledge
from knowledge_mixing.errors import InputError
from knowledge_mixing.sets import SET_NAMES


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


def load(tmp_path, **inputs):
    rows = artifact(dsl.Dataset, tmp_path / "knowledge_rows")
    metrics = artifact(dsl.Metrics, tmp_path / "metrics")
    load_knowledge.python_func(knowledge_rows=rows, metrics=metrics, save_gpt_oss_format=False,
                               max_sample_chars=2_000_000, **inputs)
    return rows, metrics


def test_reports_counts_per_set_and_the_input_fingerprints(chain):
    rows, metrics = chain.knowledge_rows, chain.load_metrics
    assert rows.metadata["sets"]["key_facts_to_qa"]["rows_kept"] == 33
    assert rows.metadata["absent_sets"] == []
    assert metrics.metadata["extractive_summary.rows_read"] == 61
    assert metrics.metadata["absent_sets"] == 0
    assert rows.metadata["input_sha256"] == {
        f"{name}/gen.jsonl": hashlib.sha256((EXAMPLE_STEP_03 / name / "gen.jsonl").read_bytes())
        .hexdigest() for name in SET_NAMES}


def test_takes_one_dataset_per_set_with_the_same_result_as_the_folder(chain, tmp_path):
    datasets = {}
    for name in SET_NAMES:  # named as KFP names a Dataset: no extension
        (tmp_path / name).write_bytes((EXAMPLE_STEP_03 / name / "gen.jsonl").read_bytes())
        datasets[name] = artifact(dsl.Dataset, tmp_path / name)
    rows, metrics = load(tmp_path, **datasets)
    assert rows.metadata["sets"] == chain.knowledge_rows.metadata["sets"]
    assert metrics.metadata == chain.load_metrics.metadata
    assert open(rows.path, "rb").read() == open(chain.knowledge_rows.path, "rb").read()


def test_no_input_or_a_set_given_twice_fails(tmp_path):
    with pytest.raises(InputError, match="no input given"):
        load(tmp_path)
    with pytest.raises(InputError, match="set detailed_summary is given twice"):
        load(tmp_path, step03=artifact(dsl.Artifact, EXAMPLE_STEP_03),
             detailed_summary=artifact(dsl.Dataset, EXAMPLE_STEP_03 / "detailed_summary"))


def test_per_set_input_that_is_not_jsonl_names_the_input(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "key_facts.parquet"
    pq.write_table(pa.table({"question": ["q"]}), parquet)
    with pytest.raises(InputError) as raised:
        load(tmp_path, extractive_summary=artifact(
            dsl.Dataset, EXAMPLE_STEP_03 / "extractive_summary" / "gen.jsonl"),
            key_facts_to_qa=artifact(dsl.Dataset, parquet))
    assert str(raised.value).startswith(f"input `key_facts_to_qa`: {parquet}, line 1, column ")
    assert "not valid JSON" in str(raised.value)


def test_absent_set_is_reported(tmp_path):
    partial = shutil.copytree(EXAMPLE_STEP_03, tmp_path / "step_03")
    shutil.rmtree(partial / "document_based_qa")
    rows, metrics = load(tmp_path, step03=artifact(dsl.Artifact, partial))
    assert rows.metadata["absent_sets"] == ["document_based_qa"]
    assert list(rows.metadata["sets"]) == list(SET_NAMES[:3])
    assert metrics.metadata["absent_sets"] == 1
