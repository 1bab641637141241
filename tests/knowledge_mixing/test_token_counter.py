"""Counting each distinct text once gives exactly the whole-conversation count the trainer makes
(docs/behaviour.md#token-counting).

Over every row of the benchmark's data shape (bench/make_data.py, at a tenth of "medium") and
the example data (which carries reasoning), for tokenizers of several kinds: byte-level BPE with
a regex pre-tokeniser (Qwen), one whose template emits BOS, a SentencePiece-style one (whose
pieces are not independent, so it must fall back to whole renderings), and a WordPiece one that
lowercases.
"""
import json
import shutil

import pytest
from helpers import BOS_TEMPLATE, CHAT, fresh_tokenizer, knowledge_rows, make_data, make_step_03
from helpers import read_jsonl, trainer_counts

from knowledge_mixing.rows import build_messages
from knowledge_mixing.sets import knowledge_set
from knowledge_mixing.token_counter import (
    JUNCTION_WINDOW,
    TRAINER_MARKERS,
    TokenCounter,
    as_trainer_wraps,
    looks_only_forward,
    splits_forward,
    splitting_part,
)
from knowledge_mixing.tokenizer import BUILD_COPIES, bundled_tokenizer_dir, without_build_copies


def conversations_of(rows, gpt_oss_forms=(False,)):
    return [build_messages(knowledge_set(r["set"]), r["document_outline"], r["document"],
                           r["question"], r["response"], r["reasoning"], gpt_oss)
            for r in rows for gpt_oss in (gpt_oss_forms if r["reasoning"] else (False,))]


@pytest.fixture(scope="module")
def conversations(tmp_path_factory):
    """Every row of a tenth of the benchmark's "medium" input and of the example data (rows
    with reasoning in both forms: reasoning_content and gpt-oss `thinking`)."""
    folder = tmp_path_factory.mktemp("bench_tenth")
    make_data().write(folder / "bench", raw_documents=20, layout="old")
    make_step_03.write_step_03(folder / "examples", "old")
    rows = knowledge_rows(folder / "bench", folder / "bench_rows")[0].to_pylist() + \
        knowledge_rows(folder / "examples", folder / "example_rows")[0].to_pylist()
    return conversations_of(rows, (False, True))


@pytest.fixture(scope="module")
def example_rows(step03_layouts, tmp_path_factory):
    return {layout: knowledge_rows(step03_layouts[layout], tmp_path_factory.mktemp(layout))[0].to_pylist()
            for layout in ("old", "new")}


def template_count(tokenizer, messages):
    return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))


@pytest.mark.parametrize("kind,piecewise", [("qwen", True), ("bos", True),
                                            ("sentencepiece", False), ("wordpiece", True)])
def test_counts_equal_whole_conversation_counts(conversations, tokenizers, kind, piecewise):
    """Counted as the counting processes count: without the copies transformers keeps of what
    it built the tokenizer from (Qwen's has them)."""
    ours = tokenizers(kind, "ours")
    assert (kind != "qwen") or all(name in vars(ours) for name in BUILD_COPIES)
    counter = TokenCounter(without_build_copies(ours))
    assert not any(name in vars(ours) for name in BUILD_COPIES)
    assert counter.piecewise is piecewise
    ours = counter.count(conversations)
    assert len(ours) > 4000
    assert ours == trainer_counts(tokenizers(kind, "trainer"), conversations)
    if piecewise:  # the shortcut was taken, not just the fallback
        assert counter.junctions["cut"] > 0.8 * len(conversations)
        assert counter.encoded < 0.8 * len(conversations) * 3


@pytest.mark.parametrize("layout", ["old", "new"])
def test_qwen_counts_equal_apply_chat_template(example_rows, tokenizers, layout):
    """Without reasoning the markers change nothing with Qwen: the count is the plain
    rendering's."""
    conversations = conversations_of([r for r in example_rows[layout] if not r["reasoning"]])
    assert len(conversations) > 100
    assert TokenCounter(tokenizers("qwen", "ours")).count(conversations) == \
        [template_count(tokenizers("qwen", "trainer"), m) for m in conversations]


def test_bos_template_is_counted_once(example_rows, tokenizers):
    tokenizer = tokenizers("bos", "trainer")
    conversations = conversations_of([r for r in example_rows["new"] if not r["reasoning"]])
    counts = TokenCounter(tokenizers("bos", "ours")).count(conversations)
    assert counts == [template_count(tokenizer, m) for m in conversations]
    # the reference's encode(rendered text) adds a second BOS to every sample
    reference = [len(tokenizer.encode(tokenizer.apply_chat_template(m, tokenize=False)))
                 for m in conversations]
    assert reference == [c + 1 for c in counts]


def test_reasoning_rows_are_counted_as_the_trainer_splits_them(example_rows, tokenizers):
    """instructlab-training encodes the rendering with its unmask markers as special tokens and
    then drops them: count the same way with a separately loaded tokenizer."""
    conversations = conversations_of([r for r in example_rows["old"] if r["reasoning"]])
    assert conversations
    trainer = tokenizers("qwen", "trainer")
    trainer.add_special_tokens({"additional_special_tokens": list(TRAINER_MARKERS)})
    marker_ids = set(trainer.convert_tokens_to_ids(list(TRAINER_MARKERS)))
    expected = []
    for messages in conversations:
        ids = trainer.apply_chat_template(as_trainer_wraps(messages), tokenize=True, return_dict=False)
        expected.append(sum(i not in marker_ids for i in ids))
    ours = TokenCounter(tokenizers("qwen", "ours")).count(conversations)
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
    # unmask false: only the assistant turns are trained
    assert as_trainer_wraps(plain, unmask=False) == [{"role": "system", "content": "s"},
                                                     {"role": "user", "content": "u"},
                                                     {"role": "assistant", "content": begin + "a" + end}]
    reasoning = [{"role": "user", "content": "u"},
                 {"role": "assistant", "content": "a", "reasoning_content": "r"}]
    assert as_trainer_wraps(reasoning)[1]["reasoning_content"] == r_begin + "r" + r_end
    assert reasoning[1]["reasoning_content"] == "r"  # the caller's messages are not changed
    thinking = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "thinking": ""}]
    assert as_trainer_wraps(thinking)[1]["thinking"] == r_begin + r_end  # an empty key counts too


def test_identical_conversations_are_encoded_once(qwen_tokenizer):
    conversation = [{"role": "user", "content": "Same?"}, {"role": "assistant", "content": "Yes."}]
    counter = TokenCounter(qwen_tokenizer)
    [one] = counter.count([conversation])
    encoded = counter.encoded
    assert encoded > 0
    assert counter.count([conversation] * 3) == [one] * 3
    assert counter.encoded == encoded  # nothing new to encode
    other = [{"role": "user", "content": "Other?"}, {"role": "assistant", "content": "Yes."}]
    counter.count([other])
    assert encoded < counter.encoded < 2 * encoded  # only the new user turn's pieces


def test_junction_check_refuses_to_cut_inside_a_pre_token(qwen_tokenizer):
    counter = TokenCounter(qwen_tokenizer)
    assert counter.junction_is_clean("Outline\nA summary.\n\n", "What is it?")
    assert not counter.junction_is_clean("Outline\nA summary", "ies of it")       # mid-word
    assert not counter.junction_is_clean("Outline\nA summary.  ", "What")       # a space joins the word
    assert not counter.junction_is_clean("text <|im_", "end|> more")            # an added token
    assert not counter.junction_is_clean("", "What")


@pytest.mark.parametrize("kind", ["qwen", "bos", "sentencepiece", "wordpiece"])
def test_replay_rows_count_as_the_trainer_wraps_them(conversations, tokenizers, kind):
    """Replay rows: system turns, `unmask` false (only assistant turns wrapped) or true."""
    chat = [row["messages"] for row in read_jsonl(CHAT)]
    rows = chat * 2 + conversations[:200]
    unmask = [False] * len(chat) + [True] * len(chat) + [False] * 200
    ours = TokenCounter(tokenizers(kind, "ours")).count(rows, unmask)
    assert ours == trainer_counts(tokenizers(kind, "trainer"), rows, unmask)


def test_bos_template_fixture_is_what_it_claims(bos_tokenizer_dir):
    tokenizer = fresh_tokenizer(bos_tokenizer_dir)
    assert tokenizer.chat_template == BOS_TEMPLATE
    assert tokenizer.encode("x")[0] == tokenizer.bos_token_id


def test_truncation_and_padding_set_in_tokenizer_json_do_not_change_counts(conversations,
                                                                          tmp_path):
    """A tokenizer.json may set truncation or padding; the trainer's encoding ignores both (it
    asks for neither), and so must the counts."""
    folder = tmp_path / "truncating"
    shutil.copytree(bundled_tokenizer_dir(), folder)
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["truncation"] = {"direction": "Right", "max_length": 16, "strategy": "LongestFirst",
                          "stride": 0}
    spec["padding"] = {"strategy": {"Fixed": 4096}, "direction": "Right",
                       "pad_to_multiple_of": None, "pad_id": 0, "pad_type_id": 0,
                       "pad_token": "<|endoftext|>"}
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    tokenizer = fresh_tokenizer(folder)
    assert tokenizer.backend_tokenizer.truncation and tokenizer.backend_tokenizer.padding
    some = conversations[:50]
    assert TokenCounter(tokenizer).count(some) == trainer_counts(fresh_tokenizer(folder), some)


def test_what_decides_the_cuts_of_a_pre_tokeniser():
    """A last ByteLevel step that neither splits nor adds a space maps pieces one for one: the
    steps before it decide the cuts. Any other pre-tokeniser is kept whole."""
    from tokenizers import pre_tokenizers as pt

    split = pt.Split(" ", behavior="isolated")
    quiet = pt.ByteLevel(add_prefix_space=False, use_regex=False)
    assert isinstance(splitting_part(pt.Sequence([split, quiet])), pt.Split)
    assert splitting_part(pt.Sequence([quiet])) is None
    two = splitting_part(pt.Sequence([pt.WhitespaceSplit(), pt.Digits(), quiet]))
    assert two.pre_tokenize_str("a 12") == pt.Sequence(
        [pt.WhitespaceSplit(), pt.Digits()]).pre_tokenize_str("a 12")
    for kept in (pt.Sequence([split, pt.ByteLevel(add_prefix_space=True, use_regex=False)]),
                 pt.Sequence([split, pt.ByteLevel(add_prefix_space=False, use_regex=True)]),
                 pt.Sequence([quiet, split]), quiet, split):
        assert splitting_part(kept) is kept


@pytest.mark.parametrize("kind", ["qwen", "bos", "wordpiece"])
def test_junction_verdicts_are_those_of_the_whole_normaliser_and_pre_tokeniser(
        conversations, tokenizers, kind):
    """The shortcuts (the splitting steps only; no normalising of ASCII under a Unicode normal
    form) decide every junction as the full normaliser and pre-tokeniser do."""
    counter = TokenCounter(tokenizers(kind, "ours"))
    backend = counter.backend

    def whole(a, b):
        normalise = backend.normalizer.normalize_str if backend.normalizer else (lambda t: t)
        if normalise(a + b) != normalise(a) + normalise(b):
            return False
        pieces = backend.pre_tokenizer.pre_tokenize_str
        a, b = normalise(a), normalise(b)
        return [p for p, _ in pieces(a + b)] == \
            [p for p, _ in pieces(a)] + [p for p, _ in pieces(b)]

    users = [m["content"] for c in conversations[:600] for m in c if m["role"] == "user"]
    pairs = [(u[:i], u[i:]) for u in users for i in (u.rfind("\n\n") + 2, u.rfind("\n\n") + 1)]
    pairs += [("Café.\n\n", "Qué?"), ("abc", "\u0301def"), ("word ", "next"), ("x\n", "\ny"),
              ("12", "34"), ("naïve\n\n", "Why?"), ("end.  ", " What")]
    expected = [whole(a[-JUNCTION_WINDOW:], b[:JUNCTION_WINDOW]) for a, b in pairs]
    assert [counter.junction_is_clean(a, b) for a, b in pairs] == expected
    assert True in expected and False in expected
    if counter.forward_only:  # the tail's pieces taken as they follow: the same verdicts
        counter.forward_only = False
        assert [counter.junction_is_clean(a, b) for a, b in pairs] == expected


def test_qwen_splits_forward(qwen_tokenizer):
    assert TokenCounter(qwen_tokenizer).forward_only


@pytest.mark.parametrize("pattern,forward", [
    (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
     r"\s*[\r\n]+|\s+(?!\S)|\s+", True),                              # Qwen 2/3
    (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", True),  # GPT-2
    (r"\p{N}{1,3}|[[:alpha:]]+|[\b^$]", True),       # in a class, ^ $ \b are characters
    (r"(?<=x)y|y+|x", False), (r"(?<!x)y", False), (r"(?<word>\w+)", False),
    (r"\bword", False), (r"\Bx", False), (r"^x", False), (r"x$", False), (r"\Ax", False),
    (r"(\w)\1", False), (r"\k<a>", False), (r"\Kx", False), (r"(?(1)a|b)", False),
    (r"x\\", True), ("x\\", False), (r"[abc", False),  # an escaped backslash; a last one
    (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
     r"\s*[\r\n]+|\s+(?!\S)|\s+", True),                              # Llama 3
    (r"(?:a|b)(?=c)(?!d)(?>e+)(?i)f(?m-i:g)\x{41}\p{^L}\u0041\.", True),
    # found by review: what a class-like bracket in a comment, an extended-mode comment or a
    # control escape hid, and callouts (a count kept across the search's start positions)
    (r"(?#[)^x(?#])", False), ("(?x)# [\n^x#]", False), (r"\c[|^x|]", False),
    (r"\C-[|^x|]", False), (r"\M-[|^x|]", False), (r"(*FAIL)|x", False),
    (r"(*TOTAL_COUNT[T])(?:(*CMP{T,==,1})b|bb|cx)", False), (r"(?~ab)", False),
    (r"(?{x})", False), (r"\p{L}}x{", True), (r"\p{L", False), (r"\X", False),
    # found by a second review: a `[:` that is no POSIX class is a plain `[` to Oniguruma
    # before 6.9.9, closing the class early; braces that are no escape's argument are regex
    (r"[[:a:b:]|^c|]", False), (r"[[:alpha:][:^space:]]x", True), (r"[]a]", False),
    (r"[^]a]", False), (r"\x{^a}", False), (r"\o{^a}", False), (r"\x{ 61}", False),
    (r"\u{61}", False), (r"\x{41 42}\o{101}\u0041\p{^Lu}", True), (r"\d{1,3}\s{2,}\.{2}", True),
])
def test_which_regexes_look_only_forward(pattern, forward):
    assert looks_only_forward(pattern) is forward


@pytest.mark.parametrize("pattern", [
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+",                                             # Qwen 2/3
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+",                                             # Llama 3
    r"a*|(?=b)|\s+(?!\S)|(?>a+)b"])                                    # empty matches, look-ahead
def test_forward_splitters_split_a_junction_as_its_sides_on_every_short_text(pattern):
    """Every pair of texts of up to three characters over a small alphabet: where the pieces of
    the whole begin with the head's, they go on with the tail's."""
    import itertools

    from tokenizers import Regex
    from tokenizers import pre_tokenizers as pt

    splitter = pt.Split(Regex(pattern), behavior="isolated")
    assert splits_forward(splitter)
    texts = ["".join(t) for n in (1, 2, 3) for t in itertools.product("aA1' \n", repeat=n)]
    pieces = {t: [p for p, _ in splitter.pre_tokenize_str(t)] for t in texts}
    for a, b in itertools.product(texts[:42], texts):  # heads of up to two characters
        joined = [p for p, _ in splitter.pre_tokenize_str(a + b)]
        if joined[:len(pieces[a])] == pieces[a]:
            assert joined[len(pieces[a]):] == pieces[b], (a, b)


def test_a_splitter_that_looks_behind_is_checked_on_both_sides():
    """After "x", the look-behind makes each "y" a piece of its own: the pieces of "x" + "yy"
    begin with those of "x" but go on unlike those of "yy"."""
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as pt

    behind = pt.Split(Regex(r"(?<=x)y|y+|x"), behavior="isolated")
    assert [p for p, _ in behind.pre_tokenize_str("xyy")] == ["x", "y", "y"]
    assert [p for p, _ in behind.pre_tokenize_str("yy")] == ["yy"]
    assert not splits_forward(behind)
    assert splits_forward(pt.Split(Regex(r"y+|x"), behavior="isolated"))
    assert splits_forward(pt.Split(" ", behavior="isolated"))
    assert not splits_forward(pt.Split(Regex(r"y+|x"), behavior="removed"))
    assert not splits_forward(pt.Split(Regex(r"y+|x"), behavior="isolated", invert=True))
    assert not splits_forward(pt.WhitespaceSplit())
