"""Counting each distinct text once gives exactly the whole-conversation count the trainer makes.

Over every row of the benchmark's data shape (bench/make_data.py, at a tenth of "medium") and
the example data (which carries reasoning), for tokenizers of several kinds: byte-level BPE with
a regex pre-tokeniser (Qwen), one whose template emits BOS, a SentencePiece-style one (whose
pieces are not independent, so it must fall back to whole renderings), and a WordPiece one that
lowercases.
"""
import json
import sys

import pytest
from conftest import REPO, make_step_03
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from knowledge_mixing.counting import MARKERS, TokenCounter, as_trainer_wraps
from knowledge_mixing.load import load_step03
from knowledge_mixing.messages import build_messages
from knowledge_mixing.sets import knowledge_set
from knowledge_mixing.tokens import bundled_tokenizer_dir

sys.path.insert(0, str(REPO / "bench"))
import make_data  # noqa: E402

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}")
LLAMA2 = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] "
          "{{ m['content'] | trim }} [/INST]{% else %} {{ m['content'] | trim }} {{ eos_token }}"
          "{% endif %}{% endfor %}")


@pytest.fixture(scope="module")
def conversations(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_tenth")
    make_data.write(folder, raw_documents=20, layout="old")
    make_step_03.write_step_03(folder / "examples", "old")
    rows = load_step03(folder).table.to_pylist() + load_step03(folder / "examples").table.to_pylist()
    return [build_messages(knowledge_set(r["set"]), r["document_outline"], r["document"],
                           r["question"], r["response"], r["reasoning"], gpt_oss)
            for r in rows for gpt_oss in ((False, True) if r["reasoning"] else (False,))]


def trained_tokenizer(model, trainer, normalizer, pre_tokenizer, decoder, template, specials):
    from tokenizers import Tokenizer

    tok = Tokenizer(model)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder
    corpus = [" ".join(make_data.sentence_pool()[i::7]) for i in range(7)]
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=specials[0], eos_token=specials[1],
                                   unk_token=specials[2])
    fast.chat_template = template
    return fast


def sentencepiece_like():
    from tokenizers import decoders, models, pre_tokenizers, trainers

    specials = ["<s>", "</s>", "<unk>"]
    return trained_tokenizer(
        models.BPE(unk_token="<unk>"), trainers.BpeTrainer(vocab_size=800, special_tokens=specials),
        None, pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
        decoders.Metaspace(), LLAMA2, specials)


def wordpiece_lowercase():
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    specials = ["<|im_start|>", "<|im_end|>", "[UNK]"]
    return trained_tokenizer(
        models.WordPiece(unk_token="[UNK]"),
        trainers.WordPieceTrainer(vocab_size=800, special_tokens=specials),
        normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer(),
        decoders.WordPiece(), CHATML, specials)


def trainer_counts(tokenizer, conversations, unmask=None):
    """What instructlab-training counts: the whole wrapped rendering, encoded once with its
    markers as special tokens, markers dropped."""
    unmask = unmask or [True] * len(conversations)
    tokenizer.add_special_tokens({"additional_special_tokens": list(MARKERS)})
    marker_ids = set(tokenizer.convert_tokens_to_ids(list(MARKERS)))
    rendered = tokenizer.apply_chat_template(
        [as_trainer_wraps(m, u) for m, u in zip(conversations, unmask)], tokenize=False)
    ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    return [sum(i not in marker_ids for i in row) for row in ids]


@pytest.fixture(scope="module")
def tokenizer_dirs(bos_tokenizer_dir, tmp_path_factory):
    """Each kind saved once (training is not deterministic), loaded afresh by each side."""
    dirs = {"qwen": bundled_tokenizer_dir(), "bos": bos_tokenizer_dir}
    for kind, make in (("sentencepiece", sentencepiece_like), ("wordpiece", wordpiece_lowercase)):
        dirs[kind] = tmp_path_factory.mktemp(kind)
        make().save_pretrained(dirs[kind])
    return dirs


@pytest.mark.parametrize("kind,piecewise", [("qwen", True), ("bos", True),
                                            ("sentencepiece", False), ("wordpiece", True)])
def test_counts_equal_whole_conversation_counts(conversations, tokenizer_dirs, kind, piecewise):
    def make():
        return AutoTokenizer.from_pretrained(str(tokenizer_dirs[kind]))

    counter = TokenCounter(make())
    assert counter.piecewise is piecewise
    ours = counter.count(conversations)
    assert len(ours) > 4000
    assert ours == trainer_counts(make(), conversations)
    if piecewise:  # the shortcut was taken, not just the fallback
        assert counter.junctions["cut"] > 0.8 * len(conversations)
        assert counter.encoded < 0.8 * len(conversations) * 3


def test_junction_check_refuses_to_cut_inside_a_pre_token(qwen_tokenizer):
    counter = TokenCounter(qwen_tokenizer)
    assert counter.junction_is_clean("Outline\nA summary.\n\n", "What is it?")
    assert not counter.junction_is_clean("Outline\nA summary", "ies of it")       # mid-word
    assert not counter.junction_is_clean("Outline\nA summary.  ", "What")       # a space joins the word
    assert not counter.junction_is_clean("text <|im_", "end|> more")            # an added token


@pytest.mark.parametrize("kind", ["qwen", "bos", "sentencepiece", "wordpiece"])
def test_replay_rows_count_as_the_trainer_wraps_them(conversations, tokenizer_dirs, kind):
    """Replay rows: system turns, `unmask` false (only assistant turns wrapped) or true."""
    chat = [json.loads(line)["messages"]
            for line in open(REPO / "examples" / "replay" / "general_chat.jsonl")]
    rows = chat * 2 + conversations[:200]
    unmask = [False] * len(chat) + [True] * len(chat) + [False] * 200

    def make():
        return AutoTokenizer.from_pretrained(str(tokenizer_dirs[kind]))

    assert TokenCounter(make()).count(rows, unmask) == trainer_counts(make(), rows, unmask)
