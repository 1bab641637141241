"""Helpers shared by the tests (test files never import each other).

Besides the small file helpers: the stand-in tokenizers of several kinds and the trainer's own
way of counting (to check our counts against), and the stage chain load → plan → count →
replay → mix called as the components call it, so recipe tests need no KFP runner."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_STEP_03 = REPO / "examples" / "step_03"
CHAT = REPO / "examples" / "replay" / "general_chat.jsonl"
"""The bundled replay source: 20 chat rows, some with a system turn, none with `unmask`."""
SUMMARIES_PER_DOC = (6, 5, 4)
"""Summaries per raw document of each summary set in the example data (examples/make_step_03.py):
averages 5.00, so cuts 1 to 5 are feasible."""
EXAMPLE_CUT_SIZES = (1, 2, 3, 4, 5, 10)
"""Every feasible cut size of the example data, and one that is not."""


def _load_script(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_step_03 = _load_script("make_step_03", REPO / "examples" / "make_step_03.py")
_make_data = None


def make_data():
    """bench/make_data.py (the benchmark's data shape), loaded on first use."""
    global _make_data
    if _make_data is None:
        _make_data = _load_script("make_data", REPO / "bench" / "make_data.py")
    return _make_data


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def lines(path: Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def set_of(row: dict) -> str:
    """Which set a knowledge row came from, read back from its content: "summary" (either
    summary set), "key_facts_to_qa" or "document_based_qa"."""
    if row["messages"][0]["content"].startswith("In "):
        return "key_facts_to_qa"
    if row["document"] == row["raw_document"]:
        return "document_based_qa"
    return "summary"


def dataset_of(row: dict) -> str:
    return json.loads(row["metadata"])["dataset"]


# ------------------------------------------------------------------------------- tokenizers

BOS_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|end|>\n{% endfor %}"
)
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}")
LLAMA2 = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] "
          "{{ m['content'] | trim }} [/INST]{% else %} {{ m['content'] | trim }} {{ eos_token }}"
          "{% endif %}{% endfor %}")


def bos_tokenizer():
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
    return fast


def _trained_tokenizer(model, trainer, normalizer, pre_tokenizer, decoder, template, specials):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(model)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder
    pool = make_data().sentence_pool()
    tok.train_from_iterator([" ".join(pool[i::7]) for i in range(7)], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=specials[0], eos_token=specials[1],
                                   unk_token=specials[2])
    fast.chat_template = template
    return fast


def sentencepiece_like_tokenizer():
    """Metaspace pre-tokeniser with a prefix space on the first word, Llama 2 template: pieces
    cut apart by a marker do not encode as they do joined (the counter must render whole)."""
    from tokenizers import decoders, models, pre_tokenizers, trainers

    specials = ["<s>", "</s>", "<unk>"]
    return _trained_tokenizer(
        models.BPE(unk_token="<unk>"), trainers.BpeTrainer(vocab_size=800, special_tokens=specials),
        None, pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
        decoders.Metaspace(), LLAMA2, specials)


def wordpiece_lowercase_tokenizer():
    """A BERT-like WordPiece tokenizer that lowercases (a normaliser), ChatML template."""
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    specials = ["<|im_start|>", "<|im_end|>", "[UNK]"]
    return _trained_tokenizer(
        models.WordPiece(unk_token="[UNK]"),
        trainers.WordPieceTrainer(vocab_size=800, special_tokens=specials),
        normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer(),
        decoders.WordPiece(), CHATML, specials)


def fresh_tokenizer(folder):
    """A tokenizer loaded afresh from its folder, as the trainer would load it."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def trainer_counts(tokenizer, conversations: list, unmask: list | None = None) -> list[int]:
    """What instructlab-training counts: the whole wrapped rendering, encoded once with its
    markers as special tokens, markers dropped (docs/behaviour.md#token-counting). Pass a
    tokenizer of its own: the markers are added to it."""
    from knowledge_mixing.token_counter import MARKERS, as_trainer_wraps

    unmask = unmask or [True] * len(conversations)
    tokenizer.add_special_tokens({"additional_special_tokens": list(MARKERS)})
    marker_ids = set(tokenizer.convert_tokens_to_ids(list(MARKERS)))
    rendered = tokenizer.apply_chat_template(
        [as_trainer_wraps(m, u) for m, u in zip(conversations, unmask)], tokenize=False)
    ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    return [sum(i not in marker_ids for i in row) for row in ids]


# ------------------------------------------------------------------------------- the stages


def knowledge_rows(step03_dir, work: Path, save_gpt_oss_format: bool = False,
                   set_inputs: dict | None = None):
    """load_stage into `work`/knowledge_rows.parquet: (the rows as a pyarrow Table, the
    `knowledge_rows` metadata)."""
    import pyarrow.parquet as pq

    from knowledge_mixing.stages.load import LoadOptions, load_stage

    work.mkdir(parents=True, exist_ok=True)
    path = work / "knowledge_rows.parquet"
    measured = load_stage(None if step03_dir is None else str(step03_dir), str(path),
                          LoadOptions(save_gpt_oss_format), set_inputs)
    return pq.read_table(path), measured.metadata["knowledge_rows"]


@dataclass
class Counted:
    """The example data loaded, planned and counted once (load → plan → count), for mixing
    under any recipe of the same seed, qa_per_doc and cut sizes."""

    work: Path
    knowledge_rows: Path
    samples: Path
    recipe: object
    loaded: dict
    plan: dict
    counted: dict
    """What the count stage measured (the samples' metadata: tokenizer and its fingerprint)."""
    tokenizer_dir: Path
    save_gpt_oss_format: bool = False


def count(step03_dir, work: Path, cut_sizes=EXAMPLE_CUT_SIZES, qa_per_doc: int = 3,
          seed: int = 42, save_gpt_oss_format: bool = False, tokenizer: str | None = None,
          **recipe_keys) -> Counted:
    """load → plan → count, as the components run them."""
    from knowledge_mixing.recipe import apply_recipe
    from knowledge_mixing.stages.count import count_stage
    from knowledge_mixing.stages.load import LoadOptions, load_stage
    from knowledge_mixing.stages.plan import plan_stage
    from knowledge_mixing.tokenizer import BUNDLED_TOKENIZER, tokenizer_folder

    work.mkdir(parents=True, exist_ok=True)
    recipe = apply_recipe({"cut_sizes": list(cut_sizes), "qa_per_doc": qa_per_doc, "seed": seed,
                           **recipe_keys})
    rows, samples = work / "knowledge_rows.parquet", work / "samples.parquet"
    loaded = load_stage(str(step03_dir), str(rows),
                        LoadOptions(save_gpt_oss_format)).metadata["knowledge_rows"]
    plan = plan_stage(str(rows), recipe, 1, loaded,
                      str(work / "plan.json")).metadata["plan"]
    tokenizer = tokenizer or BUNDLED_TOKENIZER
    counted = count_stage(str(rows), str(samples), plan["feasible_cuts"], recipe, tokenizer,
                          save_gpt_oss_format, tokenizer_name=tokenizer).metadata["samples"]
    return Counted(work, rows, samples, recipe, loaded, plan, counted, tokenizer_folder(tokenizer),
                   save_gpt_oss_format)


def count_replay(replay: list[dict], work: Path, tokenizer: str | None = None) -> tuple[Path, list]:
    """replay_stage for a recipe of these replay sources: (its Parquet, its sources' metadata)."""
    from knowledge_mixing.recipe import apply_recipe
    from knowledge_mixing.stages.replay import replay_stage
    from knowledge_mixing.tokenizer import BUNDLED_TOKENIZER

    work.mkdir(parents=True, exist_ok=True)
    path = work / "replay.parquet"
    measured = replay_stage(apply_recipe({"replay": replay}), tokenizer or BUNDLED_TOKENIZER,
                            False, str(path))
    return path, measured.metadata["replay"]["sources"]


@dataclass
class Mixed:
    """Every feasible cut mixed under one recipe: files, reports (the `mixed` and `validation`
    metadata of mix_stage) and the plan."""

    work: Path
    plan: dict
    outputs: dict[int, Path] = field(default_factory=dict)
    validation: dict[int, Path] = field(default_factory=dict)
    reports: dict[int, dict] = field(default_factory=dict)
    validation_reports: dict[int, dict] = field(default_factory=dict)
    markdown: dict[int, Path] = field(default_factory=dict)


def mix_counted(counted: Counted, work: Path, replay_counted: tuple[Path, list] | None = None,
                cuts=None, check_with_trainer: bool = False, **recipe_keys) -> Mixed:
    """plan → mix over samples already counted: a plan of the counted recipe with these keys
    laid over it, then mix_stage for each of `cuts` (default: every feasible cut), with the
    replay sources as count_replay counted them (`replay_counted`). Keys that
    change which rows are counted (seed, qa_per_doc, cut_sizes) are refused: count again."""
    from knowledge_mixing.recipe import apply_recipe
    from knowledge_mixing.stages.mix import mix_stage
    from knowledge_mixing.stages.plan import plan_stage

    assert not {"seed", "qa_per_doc", "cut_sizes", "dedup"} & set(recipe_keys), \
        "count again for these"
    assert bool(replay_counted) == bool(recipe_keys.get("replay")), "count the replay sources first"
    work.mkdir(parents=True, exist_ok=True)
    recipe = apply_recipe(recipe_keys, counted.recipe)
    plan_path = work / "plan.json"
    plan = plan_stage(str(counted.knowledge_rows), recipe, 1, counted.loaded,
                      str(plan_path)).metadata["plan"]
    # without sources, the empty replay file count_replay writes
    replay_path, sources = replay_counted or count_replay([], work)
    mixed = Mixed(work, plan)
    for cut in cuts or plan["feasible_cuts"]:
        mixed.outputs[cut] = work / f"combined_cut_{cut}x.jsonl"
        mixed.validation[cut] = work / f"validation_cut_{cut}x.jsonl"
        mixed.markdown[cut] = work / f"combined_cut_{cut}x.card.md"
        measured = mix_stage(str(counted.samples), str(replay_path), str(plan_path), cut,
                             str(mixed.outputs[cut]), str(mixed.validation[cut]),
                             str(mixed.markdown[cut]), sources, counted.counted,
                             str(counted.tokenizer_dir), check_with_trainer)
        mixed.reports[cut] = measured.metadata["mixed"]
        mixed.validation_reports[cut] = measured.metadata["validation"]
    return mixed


def mix(step03_dir, work: Path, cut_sizes=(1, 5, 10), qa_per_doc: int = 3, seed: int = 42,
        gpt_oss: bool = False, tokenizer: str | None = None, **recipe_keys):
    """The whole stage chain from scratch (load → plan → count → replay → mix) under a recipe of
    these keys: ({cut: path}, the load metadata, the plan with each cut's report under
    plan["cuts"][cut]). Validation files lie next to the cut files."""
    work = Path(work)
    counted = count(step03_dir, work, cut_sizes, qa_per_doc, seed, gpt_oss, tokenizer)
    replay = count_replay(recipe_keys["replay"], work / "replay", tokenizer) \
        if recipe_keys.get("replay") else None
    mixed = mix_counted(counted, work, replay, **recipe_keys)
    plan = dict(mixed.plan, cuts=mixed.reports)
    return mixed.outputs, counted.loaded, plan
