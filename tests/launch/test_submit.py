"""`python pipeline.py submit` against a small fake KFP API server on 127.0.0.1."""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standins import compile_to, generate_flow, record_training, setting_variables

from knowledge_mixing.errors import SubmitError
from knowledge_mixing.recipe import Recipe
from launch.cli import main
from launch.submit import bearer_token, check_server


class FakeKfpApi:
    """Answers the KFP v2beta1 calls a run submission makes, and records every request."""

    def __init__(self, status=200):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append({"method": self.command, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": json.loads(body) if body else None})
                if status != 200:
                    answer = {"error": "Unauthorized", "code": 16}
                elif self.path.startswith("/apis/v2beta1/experiments"):
                    answer = ({"experiments": []} if self.command == "GET"
                              else {"experiment_id": "exp-1", "display_name": "knowledge-mixing"})
                elif self.path.startswith("/apis/v2beta1/runs"):
                    answer = {"run_id": "run-123", "experiment_id": "exp-1"}
                else:
                    answer = {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def run(self) -> dict:
        """The body of the last run-creating request."""
        return [r for r in self.requests if r["path"] == "/apis/v2beta1/runs"][-1]["body"]


@pytest.fixture
def fake_api():
    api = FakeKfpApi()
    yield api
    api.close()


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch, tmp_path):
    """No token, `oc` or setting from this shell; no `.env` in the working directory."""
    monkeypatch.delenv("KFP_TOKEN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no `oc` unless a test puts one there
    for variable in setting_variables():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)


def submit(*args):
    return main(["submit", *args])


def pipeline_spec(run: dict) -> dict:
    """The pipeline spec of a run request (nested next to a platform spec when there is one)."""
    spec = run["pipeline_spec"]
    return spec.get("pipeline_spec", spec)


def test_submit_creates_a_run_with_the_token_and_the_pipeline(fake_api, capsys):
    assert submit("--host", fake_api.url, "--token", "sha256~secret", "--step03-uri",
                  "s3://bucket/step03", "--cut-sizes", "1,5", "--experiment", "tuning") == 0
    assert f"run created: {fake_api.url}/#/runs/details/run-123" in capsys.readouterr().out
    assert fake_api.requests[0]["path"] == "/apis/v2beta1/healthz"
    assert all(r["headers"]["authorization"] == "Bearer sha256~secret" for r in fake_api.requests)
    experiment = next(r for r in fake_api.requests
                      if r["method"] == "POST" and r["path"] == "/apis/v2beta1/experiments")
    assert experiment["body"]["display_name"] == "tuning"
    run = fake_api.run()
    spec = pipeline_spec(run)
    assert spec["pipelineInfo"]["name"] == "knowledge-mixing"
    assert "comp-knowledge-mixing-stage" in spec["components"]
    assert run["runtime_config"]["parameters"] == {
        "step03_uri": "s3://bucket/step03", "tokenizer": "bundled-qwen", "cut_sizes": [1, 5],
        "qa_per_doc": 3, "seed": 42, "save_gpt_oss_format": False, "train_cut": 0,
        "trust_remote_code": False, "shards": 1, "training_max_seq_len": 0,
        "max_sample_chars": 2_000_000, "check_with_trainer": False,
        "recipe": Recipe(cut_sizes=(1, 5)).to_json()}
    assert run["experiment_id"] == "exp-1"
    assert run["display_name"].startswith("knowledge-mixing ")


def test_token_from_the_environment_and_from_oc(fake_api, monkeypatch, tmp_path):
    monkeypatch.setenv("KFP_TOKEN", "from-env")
    assert submit("--host", fake_api.url, "--step03-uri", "s3://b/s") == 0
    assert fake_api.requests[-1]["headers"]["authorization"] == "Bearer from-env"
    monkeypatch.delenv("KFP_TOKEN")
    (tmp_path / "bin").mkdir()
    oc = tmp_path / "bin" / "oc"
    oc.write_text("#!/bin/sh\n[ \"$1 $2\" = 'whoami -t' ] && echo from-oc\n")
    oc.chmod(0o755)
    assert submit("--host", fake_api.url, "--step03-uri", "s3://b/s") == 0
    assert fake_api.requests[-1]["headers"]["authorization"] == "Bearer from-oc"
    assert bearer_token("explicit") == "explicit"


def test_missing_token_fails_clearly(capsys):
    assert submit("--host", "http://127.0.0.1:9", "--step03-uri", "s3://b/s") == 1
    assert "no token: pass --token, set KFP_TOKEN, or log in with `oc login`" in capsys.readouterr().err


def test_rejected_token_fails_clearly(capsys):
    api = FakeKfpApi(status=401)
    try:
        assert submit("--host", api.url, "--token", "old", "--step03-uri", "s3://b/s") == 1
    finally:
        api.close()
    assert "refused the token (HTTP 401)" in capsys.readouterr().err
    assert not any(r["path"] == "/apis/v2beta1/runs" for r in api.requests)


def test_a_server_that_is_not_the_pipelines_route_is_named():
    api = FakeKfpApi(status=404)
    try:
        with pytest.raises(SubmitError, match=r"answered HTTP 404 to the health check; is it the "
                           "Data Science Pipelines route"):
            check_server(api.url, "t")
    finally:
        api.close()


def test_unreachable_host_fails_clearly(capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert submit("--host", f"http://127.0.0.1:{port}", "--token", "t", "--step03-uri", "s3://b/s") == 1
    assert "cannot reach the pipelines server" in capsys.readouterr().err


def test_step03_uri_is_required(capsys):
    assert submit("--host", "http://127.0.0.1:9", "--token", "t") == 2
    assert "give --step03-uri" in capsys.readouterr().err


def test_per_set_inputs_need_their_uris(capsys):
    assert submit("--host", "http://127.0.0.1:9", "--token", "t", "--inputs",
                  "extractive_summary,key_facts_to_qa",
                  "--param", "extractive_summary_uri=s3://b/e") == 2
    assert "give --param key_facts_to_qa_uri=URI" in capsys.readouterr().err


def test_tokenizer_from_uri_takes_the_tokenizer_uri(fake_api, capsys):
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s",
                  "--tokenizer-from-uri") == 2
    assert "give --tokenizer-uri" in capsys.readouterr().err
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s",
                  "--tokenizer-from-uri", "--tokenizer-uri", "s3://b/tokenizer") == 0
    run = fake_api.run()
    assert run["runtime_config"]["parameters"]["tokenizer_uri"] == "s3://b/tokenizer"
    assert "tokenizer" not in run["runtime_config"]["parameters"]
    assert "exec-fetch-tokenizer" not in pipeline_spec(run)["deploymentSpec"]["executors"]


def test_training_parameters_pass_through(fake_api, tmp_path):
    """The max_seq_len mixing and training share is training's own unless given."""
    training = str(compile_to(record_training, tmp_path / "training.yaml"))
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s",
                  "--training-component", training, "--param", "training_record_to=/x",
                  "--param", "training_num_epochs=3", "--run-name", "mine") == 0
    run = fake_api.run()
    assert run["runtime_config"]["parameters"]["training_num_epochs"] == 3
    assert run["runtime_config"]["parameters"]["training_record_to"] == "/x"
    assert "training_max_seq_len" not in run["runtime_config"]["parameters"]
    assert pipeline_spec(run)["pipelineInfo"]["name"] == "knowledge-tuning"
    assert run["display_name"] == "mine"
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s",
                  "--training-component", training, "--param", "training_record_to=/x",
                  "--training-max-seq-len", "4096") == 0
    assert fake_api.run()["runtime_config"]["parameters"]["training_max_seq_len"] == 4096


def root_caching(run) -> tuple:
    """{task: cached} of the root DAG's tasks and of the stage's."""
    spec = pipeline_spec(run)
    stage = spec["components"]["comp-knowledge-mixing-stage"]["dag"]["tasks"]
    return ({name: t.get("cachingOptions", {}).get("enableCache", False)
             for name, t in spec["root"]["dag"]["tasks"].items()},
            {name: t.get("cachingOptions", {}).get("enableCache", False)
             for name, t in stage.items()})


def test_runs_are_not_cached_unless_asked(fake_api):
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s") == 0
    root, stage = root_caching(fake_api.run())
    assert not any(root.values()) and not any(stage.values())
    assert submit("--host", fake_api.url, "--token", "t", "--step03-uri", "s3://b/s",
                  "--cache") == 0
    root, stage = root_caching(fake_api.run())
    assert root == {"importer": False, "fetch-tokenizer": True, "knowledge-mixing-stage": True}
    assert {name for name, cached in stage.items() if cached} == {
        "load-knowledge", "plan-cuts", "count-replay", "shard-indices", "gather-samples",
        "select-cut"}  # and the loops' tasks, in their own DAGs


def test_generation_needs_its_teacher_model_and_seed_data(fake_api, tmp_path, capsys):
    generation = str(compile_to(generate_flow, tmp_path / "generation.yaml"))
    base = ("--host", fake_api.url, "--token", "t", "--generation-component", generation)
    assert submit(*base, "--seed-data-uri", "s3://b/seed.jsonl") == 2
    err = capsys.readouterr().err
    assert err == ("pipeline.py submit: error: --param generation_model: required by the "
                   "generation step (input 'model' of 'generate-flow'); give --param "
                   "generation_model=VALUE\n")
    assert submit(*base, "--seed-data-uri", "s3://b/seed.jsonl", "--param",
                  "generation_model=") == 2
    assert submit(*base, "--param", "generation_model=openai/gpt-4o-mini") == 2
    assert "give --seed-data-uri" in capsys.readouterr().err
    assert fake_api.requests == []  # nothing was sent
    assert submit(*base, "--seed-data-uri", "s3://b/seed.jsonl", "--param",
                  "generation_model=openai/gpt-4o-mini") == 0
    parameters = fake_api.run()["runtime_config"]["parameters"]
    assert parameters["seed_data_uri"] == "s3://b/seed.jsonl"
    assert parameters["generation_model"] == "openai/gpt-4o-mini"
    assert "step03_uri" not in parameters
    out = capsys.readouterr().out
    assert f"generation: component 'generate-flow' from {generation}, one task per knowledge " \
        "flow\n" in out
    assert "create first: secret llm-credentials (LLM_API_KEY, LLM_API_BASE)\n" in out
