"""Where the tokenizer comes from (hub id, local directory, the bundled one), errors a user can
act on, and the files a run keeps of it."""
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from knowledge_mixing.errors import TokenizerError
from knowledge_mixing.tokenizer import (
    BUNDLED_TOKENIZER,
    bundled_tokenizer_dir,
    hub_status,
    load_tokenizer,
    save_tokenizer,
)


def test_bundled_tokenizer_is_found_without_the_network(qwen_tokenizer):
    """(qwen_tokenizer is load_tokenizer(BUNDLED_TOKENIZER), loaded once per session.)"""
    assert BUNDLED_TOKENIZER == "bundled-qwen"
    assert (bundled_tokenizer_dir() / "tokenizer.json").is_file()
    assert qwen_tokenizer.chat_template and "Qwen2" in type(qwen_tokenizer).__name__
    assert qwen_tokenizer.name_or_path == str(bundled_tokenizer_dir())


def test_local_directory_is_loaded_and_saved_with_what_identifies_it(bos_tokenizer_dir, tmp_path):
    measured = save_tokenizer(str(bos_tokenizer_dir), str(tmp_path / "files"))
    files = load_tokenizer(str(tmp_path / "files"))
    original = load_tokenizer(str(bos_tokenizer_dir))
    assert files.chat_template == original.chat_template
    assert files.encode("The Rosetta Stone") == original.encode("The Rosetta Stone")
    assert measured.metadata == {"tokenizer_files": {
        "tokenizer": str(bos_tokenizer_dir), "tokenizer_class": type(original).__name__,
        "vocabulary_size": len(original),
        "chat_template_sha256": hashlib.sha256(original.chat_template.encode()).hexdigest(),
        "files_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                         for p in sorted((tmp_path / "files").iterdir())}}}


@pytest.mark.parametrize("kind", ["qwen", "bos", "wordpiece"])
def test_saved_files_list_the_added_tokens_and_load_the_same_tokenizer(
        kind, tokenizer_dirs, tmp_path, monkeypatch):
    """transformers 5 leaves the added tokens out of a saved tokenizer_config.json and then
    parses tokenizer.json a second time to find them; the saved folder lists them, as
    transformers 4 did, and loads to the same tokenizer as without them (a class that rebuilds
    its backend from the vocabulary, Qwen2Tokenizer, and ones that load tokenizer.json whole)."""
    save_tokenizer(str(tokenizer_dirs[kind]), str(tmp_path / "listed"))
    listed_config = json.loads((tmp_path / "listed" / "tokenizer_config.json").read_text())
    backend = json.loads((tmp_path / "listed" / "tokenizer.json").read_text())
    assert listed_config["added_tokens_decoder"] == {
        str(token.pop("id")): token for token in backend["added_tokens"]}
    load_tokenizer(str(tokenizer_dirs[kind])).save_pretrained(tmp_path / "unlisted")
    unlisted_config = (tmp_path / "unlisted" / "tokenizer_config.json").read_text()
    del listed_config["added_tokens_decoder"]  # the rest is as transformers wrote it
    assert unlisted_config == json.dumps(listed_config, indent=2, sort_keys=True,
                                         ensure_ascii=False) + "\n"
    parsed = []
    original_load = json.load
    monkeypatch.setattr(json, "load", lambda file, *a, **k: parsed.append(
        Path(file.name).name) or original_load(file, *a, **k))
    listed = load_tokenizer(str(tmp_path / "listed"))
    assert parsed.count("tokenizer.json") <= 1
    unlisted = load_tokenizer(str(tmp_path / "unlisted"))
    assert listed.backend_tokenizer.to_str() == unlisted.backend_tokenizer.to_str()
    assert {i: t.__getstate__() for i, t in listed.added_tokens_decoder.items()} == \
        {i: t.__getstate__() for i, t in unlisted.added_tokens_decoder.items()}
    assert listed.special_tokens_map == unlisted.special_tokens_map
    conversation = [{"role": "user", "content": "Who built it?"},
                    {"role": "assistant", "content": "The Romans."}]
    assert listed.apply_chat_template(conversation, tokenize=False) == \
        unlisted.apply_chat_template(conversation, tokenize=False)
    assert listed("The Rosetta Stone")["input_ids"] == unlisted("The Rosetta Stone")["input_ids"]


def test_missing_directory_names_it(tmp_path):
    with pytest.raises(TokenizerError, match="no such directory .*tokenizer.json"):
        load_tokenizer(str(tmp_path / "nope" / "tokenizer"))
    with pytest.raises(TokenizerError, match=r"tokenizer './nope' \(a path\): no such directory"):
        load_tokenizer("./nope")


def test_tokenizer_without_chat_template_fails(bos_tokenizer_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(str(bos_tokenizer_dir))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(TokenizerError, match="has no chat template"):
        load_tokenizer(str(tmp_path))


def test_directory_without_tokenizer_files_says_which_are_missing(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(TokenizerError, match="tokenizer.json missing, tokenizer_config.json present"):
        load_tokenizer(str(tmp_path))


def load_in_a_fresh_process(name: str, env: dict) -> subprocess.CompletedProcess:
    """The hub's environment variables are read when huggingface_hub is imported: load in a
    process of its own."""
    code = f"from knowledge_mixing.tokenizer import load_tokenizer\nload_tokenizer({name!r})\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


def test_unreachable_hub_id_says_what_to_change(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path))
    result = load_in_a_fresh_process("Qwen/Qwen2.5-1.5B-Instruct", env)
    assert result.returncode != 0
    assert "knowledge_mixing.errors.TokenizerError: tokenizer 'Qwen/Qwen2.5-1.5B-Instruct' (hub " \
        "model id" in result.stderr
    assert "HF_HUB_OFFLINE is set" in result.stderr and "--tokenizer" in result.stderr


@pytest.fixture
def fake_hub():
    """A stand-in Hugging Face hub on 127.0.0.1: /api/models/org/open → 200, org/gated → 401
    (403 with a token), anything else 404."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hub(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            if self.path.endswith("/org/open"):
                code = 200
            elif self.path.endswith("/org/gated"):
                code = 403 if self.headers.get("Authorization") else 401
            else:
                code = 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_hub_status_says_whether_the_hub_answers_and_what(fake_hub, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", fake_hub)
    assert hub_status("org/open") == f"the hub ({fake_hub}) is reachable and has org/open"
    assert "has no model org/typo: check the id" in hub_status("org/typo")
    assert "refuses org/gated (HTTP 401): it is gated, private or misspelt, and HF_TOKEN is not set" \
        in hub_status("org/gated")
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    assert "(HTTP 403)" in hub_status("org/gated") and "HF_TOKEN is set but has no access" in \
        hub_status("org/gated")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert "is not reachable from here" in hub_status("org/open")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_status("org/open").startswith("HF_HUB_OFFLINE is set")


def test_hub_id_that_does_not_load_says_what_the_hub_said(fake_hub, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=fake_hub, HF_HOME=str(tmp_path))
    result = load_in_a_fresh_process("org/typo", env)
    assert result.returncode != 0
    error = result.stderr[result.stderr.rindex("knowledge_mixing.errors.TokenizerError"):]
    assert error.startswith("knowledge_mixing.errors.TokenizerError: tokenizer 'org/typo' (hub "
                            "model id 'org/typo') could not be loaded, so its chat template could "
                            "not be checked")
    assert f"The hub ({fake_hub}) is reachable but has no model org/typo: check the id" in error
    assert "change --tokenizer or TOKENIZER_MODEL (pipeline parameter `tokenizer`)" in error
