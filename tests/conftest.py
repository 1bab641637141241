"""Shared fixtures: example inputs in both sdg_hub layouts, real tokenizers on disk, and the
example data counted once per session for the stage tests (helpers in tests/helpers.py)."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]  # pipeline.py at the root; helpers.py, standins.py here

import helpers  # noqa: E402
from helpers import (  # noqa: E402,F401  (re-exported for tests that import them from conftest)
    BOS_TEMPLATE,
    EXAMPLE_STEP_03,
    REPO,
    make_step_03,
    read_jsonl,
    write_jsonl,
)


@pytest.fixture(scope="session")
def step03_layouts(tmp_path_factory) -> dict[str, Path]:
    """The example data written in each layout: 'old' (sdg_hub 0.4 – 0.9.0), 'new' (0.9.1+),
    'mixed' (as examples/step_03), 'renamed' (old, with the summary/document names and the flat
    reasoning column)."""
    root = tmp_path_factory.mktemp("step03")
    folders = {}
    for layout in ("old", "new", "mixed", "renamed"):
        make_step_03.write_step_03(root / layout, layout)
        folders[layout] = root / layout
    return folders


@pytest.fixture(scope="session")
def qwen_tokenizer():
    from knowledge_mixing.tokenizer import BUNDLED_TOKENIZER, load_tokenizer

    return load_tokenizer(BUNDLED_TOKENIZER)


@pytest.fixture(scope="session")
def bos_tokenizer_dir(tmp_path_factory) -> Path:
    """A small real tokenizer whose chat template emits BOS *and* whose encode() adds one, like
    Llama 3: encoding the rendered text counts every sample one token too long."""
    folder = tmp_path_factory.mktemp("bos_tokenizer")
    helpers.bos_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tokenizer_dirs(bos_tokenizer_dir, tmp_path_factory) -> dict[str, Path]:
    """A folder per kind of tokenizer (saved once: training is not deterministic), each loaded
    afresh by whoever counts with it: byte-level BPE with a regex pre-tokeniser (the bundled
    Qwen), one whose template emits BOS, a SentencePiece-like one (pieces not independent), a
    WordPiece one that lowercases."""
    from knowledge_mixing.tokenizer import bundled_tokenizer_dir

    dirs = {"qwen": bundled_tokenizer_dir(), "bos": bos_tokenizer_dir}
    for kind, make in (("sentencepiece", helpers.sentencepiece_like_tokenizer),
                       ("wordpiece", helpers.wordpiece_lowercase_tokenizer)):
        dirs[kind] = tmp_path_factory.mktemp(kind)
        make().save_pretrained(dirs[kind])
    return dirs


@pytest.fixture(scope="session")
def tokenizers(tokenizer_dirs):
    """tokenizers(kind, side) → the tokenizer of that kind loaded once per session for one side
    of a comparison: "ours" (to count with TokenCounter) or "trainer" (helpers.trainer_counts),
    so neither side sees what the other did to its tokenizer. Both add the markers as special
    tokens, and nothing else may change them."""
    cache = {}

    def get(kind: str, side: str):
        assert side in ("ours", "trainer")
        if (kind, side) not in cache:
            cache[kind, side] = helpers.fresh_tokenizer(tokenizer_dirs[kind])
        return cache[kind, side]

    return get


@pytest.fixture(scope="session")
def counted(step03_layouts, tmp_path_factory):
    """counted(layout="mixed", **settings) → helpers.Counted: the example data in that layout
    loaded, planned (cut sizes 1–5 feasible, 10 not) and counted with the bundled tokenizer,
    once per session for each distinct set of settings (seed, qa_per_doc, save_gpt_oss_format,
    cut_sizes). Treat it as read-only."""
    cache = {}

    def get(layout: str = "mixed", **settings) -> helpers.Counted:
        key = (layout, tuple(sorted(settings.items())))
        if key not in cache:
            work = tmp_path_factory.mktemp(f"counted_{layout}")
            cache[key] = helpers.count(step03_layouts[layout], work, **settings)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def chat_replay(tmp_path_factory):
    """The bundled replay source (examples/replay/general_chat.jsonl) counted once with the
    bundled tokenizer: (replay Parquet, sources metadata) for recipes whose only replay source
    it is."""
    return helpers.count_replay([{"path": str(helpers.CHAT), "token_ratio": 0.1}],
                                tmp_path_factory.mktemp("chat_replay"))


@pytest.fixture
def kfp_components(tmp_path, monkeypatch):
    """The stand-in of kfp-components 1.11.0 (tests/stand_ins: the module paths, decorators and
    signatures of red-hat-data-services/pipelines-components at dd8d0c0, and a dist-info with
    its name and version) copied to a folder of its own and put on the path, as if installed.
    Returns that folder: a test may change the copy first (remove a module, break one)."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(TESTS / "stand_ins", site)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.split(".")[0] == "kfp_components"]:
        del sys.modules[name]
