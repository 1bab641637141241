"""The command line (`python pipeline.py run|compile|submit`): what it accepts, what it refuses
before anything runs, and what it writes where. Runs themselves: tests/test_pipeline.py."""
import argparse
import os
import subprocess
import sys

import pytest
from helpers import REPO
from standins import compile_to, containers, generate_flow, read_spec, setting_variables

from components.image import IMAGE
from knowledge_mixing.errors import ParameterError
from launch.cli import DEFAULT_PIPELINE_FILE, main, parse_flow_ids, parse_param
from launch.cluster import TASK_RESOURCES

MIXING_EXECUTORS = {"exec-fetch-tokenizer", "exec-load-knowledge", "exec-plan-cuts",
                    "exec-shard-indices", "exec-count-tokens", "exec-gather-samples",
                    "exec-count-replay", "exec-mix-cut", "exec-select-cut"}


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch, tmp_path):
    """No setting from this shell's environment or a `.env` in the working directory."""
    for variable in setting_variables():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)


def refused(argv, capsys) -> str:
    """The error of `argv`: exit status 2, one line on stderr, nothing run or written."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"pipeline.py {argv[0]}: error: "), err
    return err


@pytest.mark.parametrize("args,message", [
    (["--cut-sizes", "5,x"], "--cut-sizes: item 2 ('x')"),
    (["--cut-sizes", "0"], "--cut-sizes: item 1 ('0')"),
    (["--qa-per-doc", "0"], "--qa-per-doc: '0' is not an integer ≥ 1"),
    (["--input", "no/such/folder"], "--input no/such/folder: no such file or folder"),
    (["--key-facts-to-qa", "no/such/file"], "--key-facts-to-qa no/such/file: no such file or folder"),
])
def test_bad_run_arguments_fail_before_running(args, message, capsys, tmp_path):
    assert message in refused(["run", "--output", str(tmp_path / "out"), *args], capsys)
    assert not (tmp_path / "out").exists()


def test_compile_says_what_it_wired_and_where_it_runs(tmp_path, capsys):
    """With no plug-in installed (kfp-components present: tests/launch/test_plugins.py)."""
    assert main(["compile", "--generation-component", "none", "--training-component", "none"]) == 0
    assert (tmp_path / DEFAULT_PIPELINE_FILE).is_file()
    assert DEFAULT_PIPELINE_FILE == "knowledge_mixing_pipeline.yaml"
    assert capsys.readouterr().out == (
        "generation: none (--generation-component none)\n"
        "training: none (--training-component none)\n"
        f"image: {IMAGE}\n"
        "platform: OpenShift AI 2.22 or later\n"
        f"wrote {DEFAULT_PIPELINE_FILE}\n")


def test_compile_settings_are_flags(tmp_path, capsys):
    assert main(["compile", "-o", "p.yaml", "--image", "registry.example/mixing:dev",
                 "--resources", "count_tokens=4,8,8Gi,16Gi", "--resources",
                 "mix_cut=1,2,2Gi,8Gi", "--pvc", "models", "--hf-token-secret", "my-hf",
                 "--cache"]) == 0
    out = capsys.readouterr().out
    assert "image: registry.example/mixing:dev\n" in out
    assert "create first: secret my-hf (HF_TOKEN)\n" in out
    spec, platform = read_spec(tmp_path / "p.yaml")
    for name, container in containers(spec).items():
        assert container["image"] == "registry.example/mixing:dev"
        limit = {"exec-count-tokens": "8", "exec-mix-cut": "2"}.get(
            name, TASK_RESOURCES[name[len("exec-"):].replace("-", "_")].cpu_limit)
        assert container["resources"]["resourceCpuLimit"] == limit
    assert spec["components"]["comp-knowledge-mixing-stage"]["dag"]["tasks"]["load-knowledge"][
        "cachingOptions"] == {"enableCache": True}
    assert platform["exec-fetch-tokenizer"]["secretAsEnv"][0]["secretName"] == "my-hf"
    mounts = {name: e["pvcMount"][0]["mountPath"] for name, e in platform.items() if "pvcMount" in e}
    assert set(mounts) == MIXING_EXECUTORS and set(mounts.values()) == {"/mnt/data"}


def test_compile_inputs_and_plug_in_flags_are_checked(tmp_path, capsys):
    assert "inputs ['step03', 'facts']: give one or more of step03, extractive_summary, " \
        "detailed_summary, key_facts_to_qa, document_based_qa" in \
        refused(["compile", "--inputs", "step03,facts"], capsys)
    assert f"--training-component {tmp_path / 'no.yaml'}: no such component YAML file" in \
        refused(["compile", "--training-component", str(tmp_path / "no.yaml")], capsys)
    assert "--resources mix_cut=2,1,1Gi,2Gi: a request above its limit" in \
        refused(["compile", "--resources", "mix_cut=2,1,1Gi,2Gi"], capsys)
    generation = str(compile_to(generate_flow, tmp_path / "g.yaml"))
    assert "--seed-data pvc: give --pvc NAME, the PVC that holds the seed data" in \
        refused(["compile", "--generation-component", generation, "--seed-data", "pvc"], capsys)
    assert "--seed-data disk: give uri or pvc" in \
        refused(["compile", "--generation-component", generation, "--seed-data", "disk"], capsys)
    assert not (tmp_path / DEFAULT_PIPELINE_FILE).exists()


def test_compile_per_set_inputs(tmp_path):
    assert main(["compile", "-o", "p.yaml", "--inputs", "extractive_summary, key_facts_to_qa"]) == 0
    params = read_spec(tmp_path / "p.yaml")[0]["root"]["inputDefinitions"]["parameters"]
    assert {"extractive_summary_uri", "key_facts_to_qa_uri"} <= set(params)
    assert "step03_uri" not in params


def test_flow_ids_choose_the_flow_of_each_generation_task(tmp_path, capsys):
    """The Spanish flows (sdg_hub 0.8.5+) for two sets; the others keep the English ones."""
    generation = str(compile_to(generate_flow, tmp_path / "generation.yaml"))
    assert main(["compile", "-o", "p.yaml", "--generation-component", generation, "--flow-ids",
                 "extractive_summary=epic-jade-656-es, key_facts_to_qa=heavy-heart-77-es"]) == 0
    tasks = read_spec(tmp_path / "p.yaml")[0]["root"]["dag"]["tasks"]
    flows = {task["taskInfo"]["name"]:
             task["inputs"]["parameters"]["flow_id"]["runtimeValue"]["constant"]
             for name, task in tasks.items() if name.startswith("generate-flow")}
    assert flows == {"generate extractive_summary": "epic-jade-656-es",
                     "generate detailed_summary": "mild-thunder-748",
                     "generate key_facts_to_qa": "heavy-heart-77-es",
                     "generate document_based_qa": "stellar-peak-605"}
    assert "flow ids choose the flow of each generation task, so they need a per-flow " \
        "generation component" in refused(["compile", "--generation-component", "none",
                                           "--flow-ids", "key_facts_to_qa=x"], capsys)


@pytest.mark.parametrize("text,message", [
    ("facts=heavy-heart-77-es", "'facts' is not a knowledge set"),
    ("key_facts_to_qa", "'key_facts_to_qa' is not SET=ID"),
    ("key_facts_to_qa=", "'key_facts_to_qa=' is not SET=ID"),
    ("key_facts_to_qa=a,key_facts_to_qa=b", "key_facts_to_qa is given twice"),
])
def test_bad_flow_ids_name_the_item(text, message):
    with pytest.raises(ParameterError, match=f"^--flow-ids {text!r}: {message}"):
        parse_flow_ids(text)
    assert parse_flow_ids("") == {}


def test_param_values_are_read_as_json_when_they_parse():
    assert parse_param("training_num_epochs=3") == ("training_num_epochs", 3)
    assert parse_param("flag=true") == ("flag", True)
    assert parse_param("cuts=[1, 5]") == ("cuts", [1, 5])
    assert parse_param("uri=s3://b/k=v") == ("uri", "s3://b/k=v")
    assert parse_param("empty=") == ("empty", "")
    for bad in ("no_value", "=3"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected NAME=VALUE"):
            parse_param(bad)


def test_a_command_leaves_with_its_status_after_its_exit_handlers_and_output():
    """`python pipeline.py …` ends through `leave`: an ordinary exit (handlers run, output
    flushed, a SystemExit a host running the script can catch) with the command's status."""
    ending = subprocess.run(
        [sys.executable, "-c", "import atexit, sys\n"
         "from launch.cli import leave\n"
         "atexit.register(lambda: print('handler ran', flush=False))\n"
         "print('written', end=' ')\n"
         "sys.stderr.write('said')\n"
         "try:\n"
         "    leave(4)\n"
         "except SystemExit as e:\n"
         "    print(f'caught {e.code}', end=' ')\n"
         "leave(3)\n"
         "print('never')"],
        cwd=REPO, capture_output=True, text=True)
    assert (ending.returncode, ending.stdout, ending.stderr) == (
        3, "written caught 4 handler ran\n", "said")


def test_the_command_line_imports_kfp_without_its_rest_client():
    """`python pipeline.py` imports kfp with KFP's runtime flag set for that import only: no
    kfp.client (nor the kubernetes package), the flag as it was, kfp.dsl whole; and the command
    line's modules do not import `requests` (kfp.components does, for a component YAML plug-in;
    kfp.client for `submit`; kfp-kubernetes where a secret, a volume or training needs it)."""
    script = ("import os, sys\n"
              "from launch import import_kfp_without_its_client\n"
              "import_kfp_without_its_client()\n"
              "from kfp import dsl\n"
              "import launch.cli, launch.local_run, pipeline\n"
              "print(sorted(m for m in ('kfp.client', 'kubernetes', 'requests')\n"
              "             if m in sys.modules),\n"
              "      os.environ.get('_KFP_RUNTIME'), callable(dsl.component))")
    for flag, shown in ((None, "None"), ("false", "false")):
        env = {k: v for k, v in os.environ.items() if k != "_KFP_RUNTIME"}
        if flag:
            env["_KFP_RUNTIME"] = flag
        ran = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                             capture_output=True, text=True)
        assert ran.stdout.split() == ["[]", shown, "True"], ran.stderr
