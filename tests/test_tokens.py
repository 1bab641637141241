"""Exact token counts as the trainer sees them, and tokenizer errors a user can act on."""
import os
import socket
import subprocess
import sys

import pytest
from conftest import BOS_TEMPLATE
from transformers import AutoTokenizer

from knowledge_mixing.load import load_step03
from knowledge_mixing.messages import build_messages
from knowledge_mixing.sets import knowledge_set
from knowledge_mixing.counting import TRAINER_MARKERS, as_trainer_wraps, count_tokens
from knowledge_mixing.tokens import TokenizerError, bundled_tokenizer_dir, load_tokenizer


def example_conversations(step03_dir, with_reasoning):
    rows = load_step03(step03_dir).table.to_pylist()
    return [build_messages(knowledge_set(r["set"]), r["document_outline"], r["document"],
                           r["question"], r["response"], r["reasoning"], False)
            for r in rows if bool(r["reasoning"]) == with_reasoning]


def template_count(tokenizer, messages):
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    return len(ids)


@pytest.mark.parametrize("layout", ["old", "new"])
def test_qwen_counts_equal_apply_chat_template(step03_layouts, layout):
    tokenizer = load_tokenizer(str(bundled_tokenizer_dir()))
    conversations = example_conversations(step03_layouts[layout], with_reasoning=False)
    assert len(conversations) > 100
    assert count_tokens(tokenizer, conversations) == [template_count(tokenizer, m) for m in conversations]


def test_bos_template_is_counted_once(bos_tokenizer_dir, step03_layouts):
    tokenizer = load_tokenizer(str(bos_tokenizer_dir))
    conversations = example_conversations(step03_layouts["new"], with_reasoning=False)
    counts = count_tokens(tokenizer, conversations)
    assert counts == [template_count(tokenizer, m) for m in conversations]
    # the reference's encode(rendered text) adds a second BOS to every sample
    reference = [len(tokenizer.encode(tokenizer.apply_chat_template(m, tokenize=False)))
                 for m in conversations]
    assert reference == [c + 1 for c in counts]


def test_reasoning_rows_are_counted_as_the_trainer_splits_them(step03_layouts):
    """instructlab-training encodes the rendering with its unmask markers as special tokens and
    then drops them: count the same way with a separately loaded tokenizer."""
    conversations = example_conversations(step03_layouts["old"], with_reasoning=True)
    assert conversations
    trainer = AutoTokenizer.from_pretrained(str(bundled_tokenizer_dir()))
    trainer.add_special_tokens({"additional_special_tokens": list(TRAINER_MARKERS)})
    marker_ids = set(trainer.convert_tokens_to_ids(list(TRAINER_MARKERS)))
    expected = []
    for messages in conversations:
        ids = trainer.apply_chat_template(as_trainer_wraps(messages), tokenize=True, return_dict=False)
        expected.append(sum(i not in marker_ids for i in ids))
    ours = count_tokens(load_tokenizer(str(bundled_tokenizer_dir())), conversations)
    assert ours == expected
    # and that is not what the plain rendering encodes to: the markers split ".\n" apart
    assert ours != [template_count(trainer, m) for m in conversations]


def test_trainer_wrapping_marks_content_and_only_real_reasoning():
    plain = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
             {"role": "assistant", "content": "a"}]
    begin, end, r_begin, r_end = TRAINER_MARKERS
    assert as_trainer_wraps(plain) == [{"role": "system", "content": "s"},
                                       {"role": "user", "content": begin + "u" + end},
                                       {"role": "assistant", "content": begin + "a" + end}]
    reasoning = [{"role": "user", "content": "u"},
                 {"role": "assistant", "content": "a", "reasoning_content": "r"}]
    assert as_trainer_wraps(reasoning)[1]["reasoning_content"] == r_begin + "r" + r_end
    assert reasoning[1]["reasoning_content"] == "r"  # the caller's messages are not changed


def test_identical_conversations_are_encoded_once(qwen_tokenizer, caplog):
    conversation = [{"role": "user", "content": "Same?"}, {"role": "assistant", "content": "Yes."}]
    with caplog.at_level("INFO"):
        counts = count_tokens(qwen_tokenizer, [conversation] * 3)
    assert len(set(counts)) == 1 and "3 conversations" in caplog.text


def test_missing_directory_names_it(tmp_path):
    with pytest.raises(TokenizerError, match="no such directory .*tokenizer.json"):
        load_tokenizer(str(tmp_path / "nope" / "tokenizer"))


def test_tokenizer_without_chat_template_fails(bos_tokenizer_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(str(bos_tokenizer_dir))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(TokenizerError, match="has no chat template"):
        load_tokenizer(str(tmp_path))


def test_unreachable_hub_id_says_what_to_change(tmp_path):
    code = ("from knowledge_mixing.tokens import load_tokenizer\n"
            "load_tokenizer('Qwen/Qwen2.5-1.5B-Instruct')\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode != 0
    assert "TokenizerError: tokenizer 'Qwen/Qwen2.5-1.5B-Instruct' (hub model id" in result.stderr
    assert "HF_HUB_OFFLINE is set" in result.stderr and "--tokenizer" in result.stderr


def test_bos_template_fixture_is_what_it_claims(bos_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(bos_tokenizer_dir))
    assert tokenizer.chat_template == BOS_TEMPLATE
    assert tokenizer.encode("x")[0] == tokenizer.bos_token_id


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
    from knowledge_mixing.tokens import hub_status

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
    code = ("from knowledge_mixing.tokens import load_tokenizer\n"
            "load_tokenizer('org/typo')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=fake_hub, HF_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode != 0
    error = result.stderr[result.stderr.rindex("knowledge_mixing.tokens.TokenizerError"):]
    assert error.startswith("knowledge_mixing.tokens.TokenizerError: tokenizer 'org/typo' (hub model "
                            "id 'org/typo') could not be loaded, so its chat template could not be checked")
    assert f"The hub ({fake_hub}) is reachable but has no model org/typo: check the id" in error
    assert "change --tokenizer or TOKENIZER_MODEL (pipeline parameter `tokenizer`)" in error


def test_directory_without_tokenizer_files_says_which_are_missing(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(TokenizerError, match="tokenizer.json missing, tokenizer_config.json present"):
        load_tokenizer(str(tmp_path))
