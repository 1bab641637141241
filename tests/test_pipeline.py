"""pipeline.py: how the stage and the pipeline around it are wired (compiled in this process),
and whole-pipeline runs with the KFP local runner, as users run them.

The runs are few and each checks what only a whole run can: the README's quick start from a
fresh shell, the checked-in YAML users upload, the plug-in shapes end to end, a failing task's
own error at the end of the output, per-set inputs, a recipe. What a component or a stage does
on its own is checked in tests/components/ and tests/knowledge_mixing/.
"""
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest
from helpers import EXAMPLE_STEP_03, REPO, make_step_03, read_jsonl
from kfp import dsl, local
from kfp.components import load_component_from_file
from standins import (
    compile_spec,
    compile_to,
    generate_flow,
    generate_step03,
    record_training,
    setting_variables,
)

import pipeline
from components import fetch_tokenizer
from knowledge_mixing.errors import ParameterError
from knowledge_mixing.sets import FLOW_IDS, SET_NAMES
from knowledge_mixing.tokenizer import bundled_tokenizer_dir
from launch.cli import main
from launch.plugins import generation_step, training_step

MIXING_EXECUTORS = {"exec-fetch-tokenizer", "exec-load-knowledge", "exec-plan-cuts",
                    "exec-shard-indices", "exec-count-tokens", "exec-gather-samples",
                    "exec-count-replay", "exec-mix-cut", "exec-select-cut"}
CUT_FILES = ("combined_cut_1x.jsonl", "combined_cut_5x.jsonl")


# ------------------------------------------------------------------ wiring (compiled, no run)


@pytest.fixture(scope="module")
def default_spec(tmp_path_factory):
    return compile_spec(pipeline.build_pipeline(), tmp_path_factory.mktemp("spec") / "p.yaml")[0]


def stage_tasks(spec):
    return spec["components"]["comp-knowledge-mixing-stage"]["dag"]["tasks"]


def test_default_pipeline_imports_the_folder_and_fans_out_over_shards_and_cuts(default_spec):
    spec = default_spec
    assert spec["pipelineInfo"]["name"] == "knowledge-mixing"
    assert set(spec["deploymentSpec"]["executors"]) == MIXING_EXECUTORS | {"exec-importer"}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert list(params) == sorted(["step03_uri", "tokenizer",
                                   *(name for name, _, _ in pipeline.MIXING_PARAMETERS)])
    assert params["cut_sizes"]["defaultValue"] == [1, 5, 10]
    assert params["qa_per_doc"]["defaultValue"] == 3
    assert params["tokenizer"]["defaultValue"] == "bundled-qwen"
    assert params["step03_uri"] == {"parameterType": "STRING"}  # required
    assert not any("token" in name.lower() and name != "tokenizer" for name in params)
    importer = spec["root"]["dag"]["tasks"]["importer"]["inputs"]["parameters"]["uri"]
    assert importer == {"componentInputParameter": "step03_uri"}
    stage = stage_tasks(spec)
    loops = {task["parameterIterator"]["items"]["inputParameter"]: task["componentRef"]["name"]
             for task in stage.values() if "parameterIterator" in task}
    assert set(loops) == {"pipelinechannel--shard-indices-Output",  # count fans out over shards
                          "pipelinechannel--plan-cuts-Output"}      # mix fans out over cuts
    assert set(spec["components"][loops["pipelinechannel--shard-indices-Output"]]["dag"]["tasks"]) \
        == {"count-tokens"}
    assert set(spec["components"][loops["pipelinechannel--plan-cuts-Output"]]["dag"]["tasks"]) \
        == {"mix-cut"}
    outputs = spec["root"]["outputDefinitions"]["artifacts"]
    assert set(outputs) == set(pipeline.MixingOutputs._fields)
    assert outputs["cuts"]["isArtifactList"] and outputs["validation_cuts"]["isArtifactList"]


def test_disconnected_variant_imports_the_tokenizer_files(tmp_path):
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(tokenizer_from_uri=True)),
                           tmp_path / "p.yaml")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "tokenizer_uri" in params and "tokenizer" not in params
    assert "exec-fetch-tokenizer" not in spec["deploymentSpec"]["executors"]
    tasks = spec["root"]["dag"]["tasks"]
    tokenizer = tasks["knowledge-mixing-stage"]["inputs"]["artifacts"]["tokenizer_files"]
    importer = tokenizer["taskOutputArtifact"]["producerTask"]
    uri = tasks[importer]["inputs"]["parameters"]["uri"]
    assert uri == {"componentInputParameter": "tokenizer_uri"}


def test_per_set_inputs_are_imported_by_uri_as_datasets(tmp_path):
    sources = ("extractive_summary", "key_facts_to_qa")
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(sources=sources)),
                           tmp_path / "p.yaml")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {"extractive_summary_uri", "key_facts_to_qa_uri"} <= set(params)
    assert "step03_uri" not in params and "detailed_summary_uri" not in params
    assert [pipeline.uri_parameter(s) for s in ("step03", *sources)] == [
        "step03_uri", "extractive_summary_uri", "key_facts_to_qa_uri"]
    stage = spec["root"]["dag"]["tasks"]["knowledge-mixing-stage"]["inputs"]["artifacts"]
    assert set(stage) == {"extractive_summary", "key_facts_to_qa", "tokenizer_files"}
    importers = [e["importer"] for e in spec["deploymentSpec"]["executors"].values() if "importer" in e]
    assert [i["typeSchema"]["schemaTitle"] for i in importers] == ["system.Dataset"] * 2


@pytest.mark.parametrize("sources", [("step03", "facts"), (), ("step03", "step03")])
def test_unknown_missing_or_repeated_sources_are_refused(sources):
    with pytest.raises(ParameterError, match=re.escape(
            f"inputs {list(sources)}: give one or more of step03, extractive_summary, "
            "detailed_summary, key_facts_to_qa, document_based_qa, each once")):
        pipeline.check_sources(sources)


def test_training_component_gets_the_selected_cut_and_its_parameters(tmp_path):
    training = training_step(str(compile_to(record_training, tmp_path / "training.yaml")))
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(training=training)),
                           tmp_path / "p.yaml")
    assert spec["pipelineInfo"]["name"] == "knowledge-tuning"
    assert "with component 'record-training' from" in spec["pipelineInfo"]["description"]
    tasks = spec["root"]["dag"]["tasks"]
    dataset = tasks["record-training"]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"]
    assert dataset == {"outputArtifactKey": "training_dataset",
                       "producerTask": "knowledge-mixing-stage"}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["training_base_model"]["defaultValue"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert params["training_num_epochs"]["defaultValue"] == 1
    assert "training_record_to" in params and not params["training_record_to"].get("isOptional")
    assert "workspace" not in json.dumps(spec.get("defaultPipelineConfig", {}))
    # one max_seq_len for mixing and training, with training's default
    assert params["training_max_seq_len"]["defaultValue"] == 8192
    shared = {"componentInputParameter": "training_max_seq_len"}
    assert tasks["record-training"]["inputs"]["parameters"]["training_max_seq_len"] == shared
    assert tasks["knowledge-mixing-stage"]["inputs"]["parameters"]["training_max_seq_len"] == \
        shared


def test_generation_component_feeds_the_stage_its_folder(tmp_path):
    generation = generation_step(str(compile_to(generate_step03, tmp_path / "generation.yaml")))
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(generation=generation)),
                           tmp_path / "p.yaml")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "step03_uri" not in params
    assert {"generation_source_folder", "generation_flows"} <= set(params)
    step03 = spec["root"]["dag"]["tasks"]["knowledge-mixing-stage"]["inputs"]["artifacts"]["step03"]
    assert step03["taskOutputArtifact"] == {"outputArtifactKey": "step03",
                                            "producerTask": "generate-step03"}


def test_per_flow_generation_runs_once_per_knowledge_flow_on_the_seed_data(tmp_path):
    generation = generation_step(str(compile_to(generate_flow, tmp_path / "generation.yaml")))
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(generation=generation)),
                           tmp_path / "p.yaml")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "step03_uri" not in params and "generation_flow_id" not in params
    assert params["seed_data_uri"] == params["generation_model"] == {"parameterType": "STRING"}
    assert "generation_input_pvc_path" not in params  # the seed artifact wins over it in sdg
    tasks = spec["root"]["dag"]["tasks"]
    flows = {task["taskInfo"]["name"]:
             task["inputs"]["parameters"]["flow_id"]["runtimeValue"]["constant"]
             for name, task in tasks.items() if name.startswith("generate-flow")}
    assert flows == {f"generate {name}": FLOW_IDS[name] for name in SET_NAMES}
    assert flows == {"generate extractive_summary": "epic-jade-656",
                     "generate detailed_summary": "mild-thunder-748",
                     "generate key_facts_to_qa": "heavy-heart-77",
                     "generate document_based_qa": "stellar-peak-605"}
    seeds = {json.dumps(task["inputs"]["artifacts"]["input_artifact"])
             for name, task in tasks.items() if name.startswith("generate-flow")}
    [seed] = [json.loads(s)["taskOutputArtifact"]["producerTask"] for s in seeds]
    assert tasks[seed]["inputs"]["parameters"]["uri"] == {
        "componentInputParameter": "seed_data_uri"}
    assert tasks[seed]["taskInfo"]["name"] == "import seed data"
    stage = tasks["knowledge-mixing-stage"]["inputs"]["artifacts"]
    assert set(stage) == {*SET_NAMES, "tokenizer_files"}
    assert {a["taskOutputArtifact"]["outputArtifactKey"] for n, a in stage.items()
            if n != "tokenizer_files"} == {"output_artifact"}


def test_seed_data_from_a_pvc_path_instead(tmp_path):
    generation = generation_step(str(compile_to(generate_flow, tmp_path / "generation.yaml")),
                                 seed_data="pvc")
    spec, _ = compile_spec(pipeline.build_pipeline(pipeline.PipelineOptions(generation=generation)),
                           tmp_path / "p.yaml")
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["generation_input_pvc_path"] == {"parameterType": "STRING"}  # required
    assert "seed_data_uri" not in params
    assert not any("importer" in e for e in spec["deploymentSpec"]["executors"].values())


def test_the_stage_built_as_the_file_is_imported_is_the_stage_built_here(tmp_path):
    """pipeline.py builds its default stage on a thread of its own (off the import's stack):
    the same stage, to the byte, as one built on this thread."""
    imported = compile_spec(pipeline.knowledge_mixing_stage, tmp_path / "imported.yaml")
    here = compile_spec(pipeline.build_mixing_stage(), tmp_path / "here.yaml")
    assert imported == here
    assert pipeline.built_off_the_import_stack(threading.get_ident) != threading.get_ident()


def test_the_stage_fits_in_a_pipeline_of_your_own(tmp_path):
    """As the README shows: the stage with fetch_tokenizer's files, on the folder or per set."""
    per_set_stage = pipeline.build_mixing_stage(sources=("extractive_summary",))

    @dsl.pipeline(name="own")
    def own(step03_uri: str, extractive_uri: str):
        tokenizer = fetch_tokenizer(tokenizer="bundled-qwen", trust_remote_code=False)
        folder = dsl.importer(artifact_uri=step03_uri, artifact_class=dsl.Artifact).output
        pipeline.knowledge_mixing_stage(step03=folder, cut_sizes=[1, 5, 10],
                                        tokenizer_files=tokenizer.outputs["tokenizer_files"])
        extractive = dsl.importer(artifact_uri=extractive_uri, artifact_class=dsl.Dataset).output
        per_set_stage(extractive_summary=extractive,
                      tokenizer_files=tokenizer.outputs["tokenizer_files"])

    spec, _ = compile_spec(own, tmp_path / "own.yaml")
    stages = [t for t in spec["root"]["dag"]["tasks"] if t.startswith("knowledge-mixing-stage")]
    assert len(stages) == 2
    inputs = [spec["root"]["dag"]["tasks"][t]["inputs"]["artifacts"] for t in stages]
    assert sorted(map(sorted, inputs)) == [["extractive_summary", "tokenizer_files"],
                                           ["step03", "tokenizer_files"]]


def test_with_signature_puts_parameters_without_default_first():
    def function(*values):
        pass

    names = pipeline.with_signature(function, [("a", int, 1), ("b", str, inspect.Parameter.empty),
                                               ("c", bool, False)], None)
    assert names == ["b", "a", "c"]
    assert str(inspect.signature(function)) == "(b: str, a: int = 1, c: bool = False) -> None"


# ------------------------------------------------------------------ whole runs (local runner)


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    """No setting from this shell's environment or a `.env` in the working directory."""
    for variable in setting_variables():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args):
    return main(["run", *map(str, args)])


def local_runner(root, enable_caching=False):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root),
               enable_caching=enable_caching)


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


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    """The README's quick start: `python pipeline.py run` from a fresh shell, on the shipped
    example data. Several tests read its outputs; others compare theirs with its bytes."""
    cwd = tmp_path_factory.mktemp("quick_start")
    environ = {k: v for k, v in os.environ.items() if k not in setting_variables()}
    result = subprocess.run([sys.executable, str(REPO / "pipeline.py"), "run"], cwd=cwd, env=environ,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return cwd / "output" / "mixed", result.stdout


def test_quick_start_prints_the_readme_table(quick_start):
    """(Blank lines aside: the local runner's indented log lines may interleave with them.)"""
    _, stdout = quick_start
    readme = (REPO / "README.md").read_text()
    table = re.search(r"and prints:\n\n```\n(.*?)\n```", readme, re.S).group(1).splitlines()
    printed = [line for line in stdout.splitlines() if line.strip()]
    assert printed[-len(table) - 1:] == [*table, "wrote 2 cut(s) and summary.json to output/mixed"]


def test_the_quick_start_runs_our_tasks_in_forks_of_its_process(quick_start):
    """Only a task run by a Python process of its own logs through KFP's executor entry point;
    `run` runs ours in forks of its process (launch/local_run.py), so its log has none of those
    lines."""
    output, _ = quick_start
    log = (output / ".knowledge-mixing.log").read_text()
    assert "Executing task 'count-tokens'" in log and "[progress] count:" in log
    assert "[KFP Executor" not in log


def test_quick_start_writes_one_jsonl_per_feasible_cut_and_the_summary(quick_start):
    output, _ = quick_start
    summary = check_outputs(output, [1, 5])
    assert summary["parameters"]["tokenizer"] == "bundled-qwen"
    assert list(summary["cuts"]["5"]["sets"]) == list(SET_NAMES)
    assert summary["plan"]["infeasible_cuts"]["10"].startswith("extractive_summary averages 5.00")
    assert summary["training_cut"] == 5
    assert summary["load"]["sets"]["key_facts_to_qa"]["rows_read"] == 33
    assert summary["load"]["absent_sets"] == []
    assert summary["cuts"]["5"]["sets"]["extractive_summary"] == {
        "samples": 42, "tokens": 7256, "raw_documents": 3, "summaries": 14}
    assert summary["input_sha256"] == {
        f"{name}/gen.jsonl": hashlib.sha256((EXAMPLE_STEP_03 / name / "gen.jsonl").read_bytes())
        .hexdigest() for name in SET_NAMES}
    # a data card next to each cut file, recorded with it; the KFP UI shows the same page
    for cut in (1, 5):
        card = output / f"combined_cut_{cut}x.card.md"
        assert summary["cuts"][str(cut)]["card"] == card.name
        assert summary["files"][card.name]["sha256"] == hashlib.sha256(card.read_bytes()).hexdigest()
        assert card.read_text().startswith(f"# Data card: combined_cut_{cut}x.jsonl (cut {cut})")


def test_shipped_example_data_is_what_the_script_makes(tmp_path):
    make_step_03.write_step_03(tmp_path, "mixed")
    shipped = sorted(EXAMPLE_STEP_03.rglob("*.jsonl"))
    assert [p.relative_to(EXAMPLE_STEP_03) for p in shipped] == sorted(
        p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    for path in shipped:
        assert path.read_bytes() == (tmp_path / path.relative_to(EXAMPLE_STEP_03)).read_bytes()
    assert sum(p.stat().st_size for p in EXAMPLE_STEP_03.rglob("*")) < 5_000_000


def test_checked_in_yaml_runs_gives_the_quick_start_bytes_and_reads_new_data(quick_start,
                                                                            tmp_path):
    """compiled/knowledge_mixing.yaml, as users upload it, run by the local runner with its
    cache on (it imports `step03_uri` itself): counted in three shards, the quick start's bytes
    and summary. New data at the same URI then gives new cuts, not the cached old ones. (The
    local importer makes a new artifact per run, so even cached tasks would see the change
    here; on a cluster it reuses the artifact of the URI, hence no task of this YAML is cached:
    tests/launch/test_compile.py.)"""
    output, _ = quick_start
    step03 = shutil.copytree(EXAMPLE_STEP_03, tmp_path / "step03")
    local_runner(tmp_path / "root", enable_caching=True)
    uploaded = load_component_from_file(str(REPO / "compiled" / "knowledge_mixing.yaml"))
    outputs = uploaded(step03_uri=str(step03), shards=3).outputs
    assert [open(c.path, "rb").read() for c in outputs["cuts"]] == \
        [(output / name).read_bytes() for name in CUT_FILES]
    assert open(outputs["training_dataset"].path, "rb").read() == \
        (output / "combined_cut_5x.jsonl").read_bytes()
    assert outputs["training_dataset"].metadata["cut"] == 5
    assert len(list((tmp_path / "root").glob("*/for-loop-*/count-tokens"))) == 3
    summary = json.loads((output / "summary.json").read_text())
    del summary["files"]
    summary["parameters"].update(shards=3, recipe="")  # `run` passes its effective recipe
    assert json.loads(open(outputs["run_summary"].path).read()) == summary
    # one document QA row fewer, at the same URI (in one shard: the shards were checked above)
    qa = step03 / "document_based_qa" / "gen.jsonl"
    qa.write_text("".join(qa.read_text().splitlines(keepends=True)[:-1]))
    outputs = uploaded(step03_uri=str(step03)).outputs
    sets = outputs["training_dataset"].metadata["sets"]
    assert sets["document_based_qa"]["samples"] == \
        summary["cuts"]["5"]["sets"]["document_based_qa"]["samples"] - 1


def test_generation_then_mixing_then_training_with_the_tokenizer_from_a_uri(quick_start, tmp_path):
    """A folder-producing generation component and a training component, plugged in from their
    YAML as users plug theirs in; the tokenizer files imported by URI (disconnected clusters).
    Training receives the same bytes as the quick start's cut 5 (tokenizer fetched by name)."""
    output, _ = quick_start
    options = pipeline.PipelineOptions(
        tokenizer_from_uri=True,
        generation=generation_step(str(compile_to(generate_step03, tmp_path / "g.yaml"))),
        training=training_step(str(compile_to(record_training, tmp_path / "t.yaml"))))
    # a copy: the local runner rewrites "python3" inside paths such as site-packages' own
    tokenizer_files = shutil.copytree(bundled_tokenizer_dir(), tmp_path / "tokenizer")
    local_runner(tmp_path / "root")
    received = tmp_path / "received.jsonl"
    outputs = pipeline.build_pipeline(options)(
        generation_source_folder=str(EXAMPLE_STEP_03), tokenizer_uri=str(tokenizer_files),
        training_record_to=str(received), cut_sizes=[5]).outputs
    assert received.read_bytes() == open(outputs["training_dataset"].path, "rb").read() == \
        (output / "combined_cut_5x.jsonl").read_bytes()
    assert len(read_jsonl(received)) == outputs["training_dataset"].metadata["samples"]
    assert outputs["training_dataset"].metadata["cut"] == 5
    assert outputs["samples"].metadata["tokenizer"] == str(tokenizer_files)


def test_four_generation_tasks_on_the_seed_data_feed_mixing_under_the_trainers_limit(
        quick_start, tmp_path):
    """A per-flow generation component (shaped like kfp-components `sdg`) runs once per knowledge
    flow on the imported seed data; mixing takes the four Datasets and drops (and counts) the
    rows the trainer's max_seq_len would drop; training gets the rest of the folder's cut."""
    output, _ = quick_start
    options = pipeline.PipelineOptions(
        generation=generation_step(str(compile_to(generate_flow, tmp_path / "g.yaml"))),
        training=training_step(str(compile_to(record_training, tmp_path / "t.yaml"))))
    local_runner(tmp_path / "root")
    received = tmp_path / "received.jsonl"
    # (the local runner needs a value for a parameter whose default is None; a cluster does not)
    outputs = pipeline.build_pipeline(options)(
        seed_data_uri=str(EXAMPLE_STEP_03), generation_model="openai/teacher",
        generation_runtime_params={}, training_record_to=str(received),
        training_max_seq_len=300, cut_sizes=[5]).outputs
    under = [line for line in (output / "combined_cut_5x.jsonl").read_text().splitlines(True)
             if json.loads(line)["token_length"] < 300]
    assert received.read_text() == "".join(under)
    summary = json.loads(open(outputs["run_summary"].path).read())
    assert summary["recipe"]["max_seq_len"] == 300
    over = sum(a["over_length"]["samples"] for a in summary["cuts"]["5"]["knowledge"].values())
    assert over == len(read_jsonl(output / "combined_cut_5x.jsonl")) - len(under) > 0
    assert len(list((tmp_path / "root").glob("*/generate-flow*"))) == 4


def test_four_per_set_inputs_give_the_bytes_of_the_folder(quick_start, clean_settings, tmp_path):
    """Each set as its own file, named as a KFP Dataset is (no extension) or a folder of JSONL;
    `--train-cut` picks the smaller cut for training."""
    output, _ = quick_start
    per_set = []
    for name in SET_NAMES:
        source = EXAMPLE_STEP_03 / name / "gen.jsonl"
        if name in ("detailed_summary", "document_based_qa"):  # a folder of JSONL files
            given = tmp_path / "in" / name / "part-0.jsonl"
        else:
            given = tmp_path / "in" / f"{name}_output_artifact"
        given.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, given)
        per_set += [f"--{name.replace('_', '-')}", given if given.suffix != ".jsonl" else given.parent]
    assert run("--output", tmp_path / "sets", "--train-cut", "1", *per_set) == 0
    for name in CUT_FILES:
        assert (tmp_path / "sets" / name).read_bytes() == (output / name).read_bytes()
    folder = json.loads((output / "summary.json").read_text())
    sets = json.loads((tmp_path / "sets" / "summary.json").read_text())
    assert sets["load"]["sets"] == folder["load"]["sets"] and sets["cuts"] == folder["cuts"]
    assert list(sets["load"]["files"].values()) == list(folder["load"]["files"].values())
    assert sorted(sets["input_sha256"].values()) == sorted(folder["input_sha256"].values())
    assert sets["training_cut"] == 1 and sets["parameters"]["train_cut"] == 1


def test_example_recipe_runs_and_is_recorded_with_its_inputs(clean_settings, tmp_path, capsys):
    """`python pipeline.py run --recipe examples/recipe.yaml`: replay, validation hold-out,
    weights and shuffle through the whole pipeline, recorded in summary.json."""
    from knowledge_mixing.recipe import apply_recipe

    assert run("--recipe", REPO / "examples" / "recipe.yaml", "--output", tmp_path / "out") == 0
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    recipe = summary["recipe"]
    chat = REPO / "examples" / "replay" / "general_chat.jsonl"
    assert recipe["sets"]["key_facts_to_qa"] == 2.0 and recipe["max_seq_len"] == 4096
    assert recipe["replay"] == [{"path": str(chat), "token_ratio": 0.1}] and recipe["shuffle"]
    assert summary["recipe_sha256"] == apply_recipe(recipe).fingerprint()
    assert summary["parameters"]["recipe"] == apply_recipe(recipe).to_json()
    assert summary["input_sha256"][str(chat)] == hashlib.sha256(chat.read_bytes()).hexdigest()
    assert len(summary["input_sha256"]) == 5  # four set files and the replay source
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "combined_cut_1x.jsonl", "combined_cut_5x.jsonl",
        "validation_cut_1x.jsonl", "validation_cut_5x.jsonl"]
    for report in summary["cuts"].values():
        rows = read_jsonl(out / report["file"])
        validation = read_jsonl(out / report["validation"]["file"])
        assert report["samples"] == len(rows) and report["validation"]["samples"] == len(validation) > 0
        replay = [r for r in rows if json.loads(r["metadata"])["dataset"] == "replay"]
        assert len(replay) == report["replay"][0]["mixed"]["samples"] > 0
        knowledge = report["knowledge"]
        assert knowledge["key_facts_to_qa"]["mixed"]["samples"] == \
            2 * (knowledge["key_facts_to_qa"]["in_cut"]["samples"]
                 - knowledge["key_facts_to_qa"]["validation"]["samples"])
    printed = capsys.readouterr().out
    assert f"replay {chat}" in printed and "validation (held out)" in printed
