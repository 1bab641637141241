"""Shared fixtures: example inputs in both sdg_hub layouts and real tokenizers on disk."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # pipeline.py lives at the repository root

_spec = importlib.util.spec_from_file_location("make_step_03", REPO / "examples" / "make_step_03.py")
make_step_03 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_step_03)

EXAMPLE_STEP_03 = REPO / "examples" / "step_03"


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
    from knowledge_mixing.tokens import BUNDLED_TOKENIZER, load_tokenizer

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


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path
