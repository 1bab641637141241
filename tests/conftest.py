"""Shared fixtures: example inputs in both sdg_hub layouts and real tokenizers on disk."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]  # pipeline.py at the root; helpers.py, standins.py here

from helpers import make_step_03  # noqa: E402


@pytest.fixture(scope="session")
def step03_layouts(tmp_path_factory) -> dict[str, Path]:
    """The example data written in each layout: 'old' (sdg_hub 0.4 – 0.9.0), 'new' (0.9.1+)."""
    root = tmp_path_factory.mktemp("step03")
    folders = {}
    for layout in ("old", "new", "mixed"):
        make_step_03.write_step_03(root / layout, layout)
        folders[layout] = root / layout
    return folders


@pytest.fixture(scope="session")
def qwen_tokenizer():
    from knowledge_mixing.tokenizer import BUNDLED_TOKENIZER, load_tokenizer

    return load_tokenizer(BUNDLED_TOKENIZER)


BOS_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|end|>\n{% endfor %}"
)


@pytest.fixture(scope="session")
def bos_tokenizer_dir(tmp_path_factory) -> Path:
    """A small real tokenizer whose chat template emits BOS *and* whose encode() adds one, like
    Llama 3: encoding the rendered text counts every sample one token too long."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [" ".join(make_step_03.DOCUMENTS[i]["text"] for i in range(3))] * 3
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<unk>", "<s>", "</s>", "<|start|>", "<|end|>"]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="<|end|>",
                                   unk_token="<unk>")
    fast.chat_template = BOS_TEMPLATE
    folder = tmp_path_factory.mktemp("bos_tokenizer")
    fast.save_pretrained(folder)
    return folder
