"""fetch_tokenizer: the student tokenizer resolved once, its files kept as an artifact."""
import hashlib
from pathlib import Path

import pytest
from standins import example_chain

from knowledge_mixing.token_counter import TokenCounter
from knowledge_mixing.tokenizer import BUNDLED_TOKENIZER, load_tokenizer


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


@pytest.fixture(scope="module")
def bundled():
    """A tokenizer of this module's own (TokenCounter adds its markers to the one it counts with)."""
    return load_tokenizer(BUNDLED_TOKENIZER)


def test_metadata_says_which_tokenizer_the_files_are(chain, bundled):
    files = sorted(Path(chain.tokenizer_files.path).iterdir())
    assert chain.tokenizer_files.metadata == {
        "tokenizer": BUNDLED_TOKENIZER,
        "tokenizer_class": type(bundled).__name__,
        "vocabulary_size": len(bundled),
        "chat_template_sha256": hashlib.sha256(bundled.chat_template.encode()).hexdigest(),
        "files_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
    }
    assert "tokenizer.json" in chain.tokenizer_files.metadata["files_sha256"]


def test_saved_files_count_as_the_tokenizer_asked_for(chain, bundled):
    conversation = [[{"role": "user", "content": "In the Bessemer process, who?"},
                     {"role": "assistant", "content": "Henry Bessemer.", "reasoning_content": "r."}]]
    saved = load_tokenizer(chain.tokenizer_files.path)
    assert TokenCounter(saved).count(conversation) == TokenCounter(bundled).count(conversation)
