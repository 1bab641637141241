"""The whole pipeline with the KFP local runner (`python pipeline.py run`), as users run it."""
import json
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLE_STEP_03, REPO, read_jsonl

import pipeline
from knowledge_mixing.sets import SET_NAMES


def run(*args):
    return pipeline.main(["run", *map(str, args)])


def check_outputs(output, expected_cuts):
    summary = json.loads((output / "summary.json").read_text())
    assert sorted(int(c) for c in summary["cuts"]) == expected_cuts
    assert sorted(p.name for p in output.glob("combined_cut_*x.jsonl")) == sorted(
        f"combined_cut_{c}x.jsonl" for c in expected_cuts)
    for report in summary["cuts"].values():
        rows = read_jsonl(output / report["file"])
        assert report["samples"] == len(rows)
        assert report["tokens"] == sum(r["token_length"] for r in rows)
        assert list(report["sets"]) == [n for n in SET_NAMES if n in report["sets"]]
        assert sum(s["samples"] for s in report["sets"].values()) == len(rows)
    return summary


@pytest.mark.parametrize("layout", ["old", "new"])
def test_run_writes_one_jsonl_per_feasible_cut(step03_layouts, tmp_path, layout, capsys):
    assert run("--input", step03_layouts[layout], "--output", tmp_path) == 0
    summary = check_outputs(tmp_path, [1, 5])
    assert list(summary["cuts"]["5"]["sets"]) == list(SET_NAMES)
    assert summary["plan"]["infeasible_cuts"]["10"].startswith("extractive_summary averages 5.00")
    assert summary["training_cut"] == 5
    assert summary["load"]["sets"]["key_facts_to_qa"]["rows_read"] == 32
    assert summary["cuts"]["5"]["sets"]["extractive_summary"] == {
        "samples": 42, "tokens": summary["cuts"]["5"]["sets"]["extractive_summary"]["tokens"],
        "raw_documents": 3, "summaries": 14}
    out = capsys.readouterr().out
    assert "cut 10 not produced" in out and "training uses cut 5" in out


def test_same_seed_gives_identical_bytes_and_a_new_seed_a_new_mix(tmp_path):
    assert run("--output", tmp_path / "a", "--cut-sizes", "1,2") == 0
    assert run("--output", tmp_path / "b", "--cut-sizes", "1,2") == 0
    assert run("--output", tmp_path / "c", "--cut-sizes", "1,2", "--seed", "7") == 0
    for name in ("combined_cut_1x.jsonl", "combined_cut_2x.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "combined_cut_1x.jsonl").read_bytes() != \
        (tmp_path / "c" / "combined_cut_1x.jsonl").read_bytes()


def test_absent_set_is_reported_and_stale_cuts_are_removed(step03_layouts, tmp_path):
    partial = tmp_path / "step_03"
    shutil.copytree(step03_layouts["new"], partial)
    shutil.rmtree(partial / "document_based_qa")
    output = tmp_path / "out"
    output.mkdir()
    (output / "combined_cut_3x.jsonl").write_text("left over\n")
    assert run("--input", partial, "--output", output, "--cut-sizes", "2", "--train-cut", "2") == 0
    summary = check_outputs(output, [2])
    assert summary["load"]["absent_sets"] == ["document_based_qa"]
    assert "document_based_qa" not in summary["cuts"]["2"]["sets"]
    assert summary["training_cut"] == 2


def test_no_feasible_cut_fails_with_the_averages(tmp_path, capfd):
    assert run("--output", tmp_path, "--cut-sizes", "10,20") == 1
    captured = capfd.readouterr()
    # the failed task's own error closes the run's output, after the task name
    last = captured.err.strip().splitlines()
    assert "Inner task failed: " in last[-3] and "plan-cuts" in last[-3]
    assert last[-2].startswith("ParameterError: cut_sizes: no cut size in [10, 20] is feasible")
    assert "extractive_summary 5.00" in last[-2]
    assert not list(tmp_path.glob("combined_cut_*"))


def test_unknown_train_cut_fails(tmp_path, capfd):
    assert run("--output", tmp_path, "--cut-sizes", "1", "--train-cut", "5") == 1
    captured = capfd.readouterr()
    assert "train_cut: cut 5 was not produced" in captured.out + captured.err


@pytest.mark.parametrize("args,message", [
    (["--cut-sizes", "5,x"], "--cut-sizes: item 2 ('x')"),
    (["--cut-sizes", "0"], "--cut-sizes: item 1 ('0')"),
    (["--qa-per-doc", "0"], "qa_per_doc: 0 is not an integer ≥ 1"),
    (["--input", "no/such/folder"], "--input no/such/folder: not a directory"),
])
def test_bad_arguments_fail_before_running(args, message, capsys):
    with pytest.raises(SystemExit) as raised:
        pipeline.main(["run", *args])
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_readme_quick_start_command(tmp_path):
    """`python pipeline.py run` from a fresh shell, on the shipped example data."""
    result = subprocess.run([sys.executable, str(REPO / "pipeline.py"), "run"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = check_outputs(tmp_path / "output" / "mixed", [1, 5])
    assert summary["parameters"]["tokenizer"] == "bundled-qwen"
    assert "wrote 2 cut(s) and summary.json" in result.stdout


def test_shipped_example_data_is_what_the_script_makes(tmp_path):
    from conftest import make_step_03

    make_step_03.write_step_03(tmp_path, "mixed")
    for path in EXAMPLE_STEP_03.rglob("*.jsonl"):
        assert path.read_bytes() == (tmp_path / path.relative_to(EXAMPLE_STEP_03)).read_bytes()
    assert sum(p.stat().st_size for p in EXAMPLE_STEP_03.rglob("*")) < 5_000_000


@pytest.mark.parametrize("step03_from", ["importer", "generation component"])
def test_knowledge_tuning_runs_locally_up_to_the_training_hand_off(tmp_path, step03_from):
    """Step-03 (an existing artifact, or a stand-in generation component) → mixing → training
    (a stand-in plugged in from its component YAML, as users plug train_model in)."""
    from kfp import local
    from standins import compile_to, generate_step03, record_training

    generation = pipeline.generation_step(str(compile_to(generate_step03, tmp_path / "g.yaml"))) \
        if step03_from == "generation component" else None
    options = pipeline.PipelineOptions(
        generation=generation,
        training=pipeline.training_step(str(compile_to(record_training, tmp_path / "t.yaml"))))
    source = ({"generation_source_folder": str(EXAMPLE_STEP_03)} if generation
              else {"step03_uri": str(EXAMPLE_STEP_03)})
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    received = tmp_path / "received.jsonl"
    run = pipeline.build_pipeline(options)(training_record_to=str(received), cut_sizes=[1, 2],
                                           **source)
    assert received.read_bytes() == open(run.outputs["training_dataset"].path, "rb").read()
    assert len(read_jsonl(received)) == run.outputs["training_dataset"].metadata["samples"]
    assert run.outputs["training_dataset"].metadata["cut"] == 2


def test_disconnected_variant_runs_locally_with_imported_tokenizer_files(tmp_path):
    from kfp import local

    from knowledge_mixing.tokens import bundled_tokenizer_dir

    # a copy: the local runner rewrites "python3" inside paths such as site-packages' own
    tokenizer_files = shutil.copytree(bundled_tokenizer_dir(), tmp_path / "tokenizer")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    imported = pipeline.build_pipeline(pipeline.PipelineOptions(tokenizer_from_uri=True))(
        step03_uri=str(EXAMPLE_STEP_03), tokenizer_uri=str(tokenizer_files), cut_sizes=[5])
    fetched = pipeline.build_pipeline()(step03_uri=str(EXAMPLE_STEP_03), cut_sizes=[5])
    assert open(imported.outputs["training_dataset"].path, "rb").read() == \
        open(fetched.outputs["training_dataset"].path, "rb").read()


def test_sharded_counting_gives_the_same_bytes(tmp_path):
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    import make_data

    make_data.write(tmp_path / "step_03", raw_documents=8, layout="new")
    for shards in (1, 4):
        assert run("--input", tmp_path / "step_03", "--output", tmp_path / f"out{shards}",
                   "--cut-sizes", "1,5,20", "--shards", shards) == 0
    one, four = (sorted((tmp_path / f"out{n}").glob("combined_cut_*x.jsonl")) for n in (1, 4))
    assert [p.name for p in one] == [p.name for p in four] and len(one) == 3
    for a, b in zip(one, four):
        assert a.read_bytes() == b.read_bytes()
    summaries = [json.loads((tmp_path / f"out{n}" / "summary.json").read_text()) for n in (1, 4)]
    assert summaries[0]["cuts"] == summaries[1]["cuts"]
    assert summaries[0]["plan"]["rows_counted"] == summaries[1]["plan"]["rows_counted"] > 0


def test_example_recipe_runs_and_is_recorded_with_its_inputs(tmp_path, capsys):
    import hashlib

    from knowledge_mixing.recipe import apply_recipe

    assert run("--recipe", REPO / "examples" / "recipe.yaml", "--output", tmp_path) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    recipe = summary["recipe"]
    chat = REPO / "examples" / "replay" / "general_chat.jsonl"
    assert recipe["sets"]["key_facts_to_qa"] == 2.0 and recipe["max_seq_len"] == 4096
    assert recipe["replay"] == [{"path": str(chat), "token_ratio": 0.1}] and recipe["shuffle"]
    assert summary["recipe_sha256"] == apply_recipe(recipe).fingerprint()
    assert summary["parameters"]["recipe"] == apply_recipe(recipe).to_json()
    assert summary["input_sha256"][str(chat)] == hashlib.sha256(chat.read_bytes()).hexdigest()
    assert len(summary["input_sha256"]) == 5  # four set files and the replay source
    for report in summary["cuts"].values():
        rows = read_jsonl(tmp_path / report["file"])
        validation = read_jsonl(tmp_path / report["validation"]["file"])
        assert report["samples"] == len(rows) and report["validation"]["samples"] == len(validation) > 0
        replay = [r for r in rows if json.loads(r["metadata"])["dataset"] == "replay"]
        assert len(replay) == report["replay"][0]["mixed"]["samples"] > 0
        knowledge = report["knowledge"]
        assert knowledge["key_facts_to_qa"]["mixed"]["samples"] == \
            2 * (knowledge["key_facts_to_qa"]["in_cut"]["samples"]
                 - knowledge["key_facts_to_qa"]["validation"]["samples"])
    out = capsys.readouterr().out
    assert f"replay {chat}" in out and "validation (held out)" in out


def test_four_per_set_files_give_the_same_bytes_as_the_folder(tmp_path):
    """Each set as its own file, named as a KFP Dataset is (no extension) or in its own folder."""
    per_set = []
    (tmp_path / "in").mkdir()
    for name in SET_NAMES:
        source = EXAMPLE_STEP_03 / name / "gen.jsonl"
        if name in ("detailed_summary", "document_based_qa"):  # a folder of JSONL files
            (tmp_path / "in" / name).mkdir(parents=True)
            shutil.copyfile(source, tmp_path / "in" / name / "part-0.jsonl")
            given = tmp_path / "in" / name
        else:
            given = tmp_path / "in" / f"{name}_output_artifact"
            shutil.copyfile(source, given)
        per_set += [f"--{name.replace('_', '-')}", given]
    assert run("--output", tmp_path / "folder") == 0
    assert run("--output", tmp_path / "sets", *per_set) == 0
    for cut in ("combined_cut_1x.jsonl", "combined_cut_5x.jsonl"):
        assert (tmp_path / "sets" / cut).read_bytes() == (tmp_path / "folder" / cut).read_bytes()
    folder = json.loads((tmp_path / "folder" / "summary.json").read_text())
    sets = json.loads((tmp_path / "sets" / "summary.json").read_text())
    assert sets["load"] == folder["load"] and sets["cuts"] == folder["cuts"]
    assert sorted(sets["input_sha256"].values()) == sorted(folder["input_sha256"].values())


def test_per_set_input_that_is_not_jsonl_names_the_input(tmp_path, capfd):
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "key_facts.parquet"
    pq.write_table(pa.table({"question": ["q"]}), parquet)
    assert run("--output", tmp_path / "out", "--extractive-summary",
               EXAMPLE_STEP_03 / "extractive_summary" / "gen.jsonl", "--key-facts-to-qa", parquet) == 1
    error = capfd.readouterr().err.strip().splitlines()[-2]
    assert error.startswith(f"InputError: input `key_facts_to_qa`: {parquet}, line 1, column ")
    assert "not valid JSON" in error


def test_four_generation_tasks_feed_the_four_sets(tmp_path):
    """A per-flow generation component (shaped like kfp-components `sdg`) runs once per knowledge
    flow; mixing takes the four Datasets and writes the same bytes as from the folder."""
    from kfp import local
    from standins import compile_to, generate_flow, record_training

    generation = pipeline.generation_step(str(compile_to(generate_flow, tmp_path / "g.yaml")))
    assert generation.per_flow and generation.wired_output == "output_artifact"
    assert sorted(p.name for p in generation.parameters) == [
        "generation_max_concurrency", "generation_model", "generation_source_folder"]
    options = pipeline.PipelineOptions(
        generation=generation,
        training=pipeline.training_step(str(compile_to(record_training, tmp_path / "t.yaml"))))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    received = tmp_path / "received.jsonl"
    pipeline.build_pipeline(options)(training_record_to=str(received), cut_sizes=[1, 5],
                                     generation_source_folder=str(EXAMPLE_STEP_03))
    assert run("--output", tmp_path / "folder") == 0
    assert received.read_bytes() == (tmp_path / "folder" / "combined_cut_5x.jsonl").read_bytes()
    flows = sorted(p.name for p in (tmp_path / "root").glob("*/generate-flow*"))
    assert len(flows) == 4
