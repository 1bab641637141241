"""Exact token counts as the trainer sees them, with each distinct text encoded once
(docs/behaviour.md#token-counting).

The trainer (instructlab-training, Training Hub's SFT data path) renders an `unmask: true` row
with every non-system turn's content — and the reasoning, when a turn has some — between marker
tokens, encodes the rendering once (no second BOS: the template's own BOS is text), and drops the
markers. Markers are special tokens, so they cut the rendering into pieces that are encoded
independently. A row's count is therefore the sum of its pieces' counts, and a piece shared by
many rows (the template's fixed text; a summary under its several questions) is encoded once.

Going further, a user turn is cut once more, at its last blank line (between the summary and the
question), when the tokenizer provably encodes the two sides there as it encodes the whole:
the normaliser and the pre-tokeniser split the text at that point and no added token spans it.
Tokenizers whose pieces are not independent (SentencePiece's leading "▁") are counted on whole
renderings instead. Both paths are checked against whole-conversation counts in the tests.
"""
from __future__ import annotations

import json
import re

from .template_shapes import ShapedRenderer

TRAINER_MARKERS = ("<|UNMASK_BEGIN|>", "<|UNMASK_END|>",
                   "<|UNMASK_REASONING_BEGIN|>", "<|UNMASK_REASONING_END|>")
REASONING_KEYS = ("reasoning_content", "thinking")
SPLIT_MARKER = "<|knowledge_mixing_split|>"
"""Our own cut inside a user turn, placed only where it changes no token."""
MARKERS = (*TRAINER_MARKERS, SPLIT_MARKER)
JUNCTION_WINDOW = 48
ENCODE_BATCH = 2048
REMEMBERED_TEXTS = 50_000
"""Beyond this many remembered junction windows, forget them all (they are short)."""
REMEMBERED_CHARS = 8_000_000
"""Beyond this many characters of remembered pieces, forget all but those of the latest call:
pieces recur within a chunk of rows and the next (a summary's questions come together), and a
count of pieces would let long documents fill the memory."""
PROBES = ("Hello world.", " leading space", "\n\nWhat is it?", "Ünïcödé text", "x", "42.\n")


def splitting_part(pre_tokenizer):
    """What decides where `pre_tokenizer` cuts a text. A last ByteLevel step that neither splits
    (no regex) nor adds a space only maps each piece's bytes to characters, one for one, so the
    steps before it cut the same text into pieces that are equal exactly when its pieces are (and
    at half the cost); None when nothing cuts."""
    from tokenizers import pre_tokenizers

    if not isinstance(pre_tokenizer, pre_tokenizers.Sequence):
        return pre_tokenizer
    steps = []
    while True:
        try:
            steps.append(pre_tokenizer[len(steps)])
        except (IndexError, TypeError):  # the end, or a tokenizers without indexing
            break
    last = steps[-1] if steps else None
    if not (isinstance(last, pre_tokenizers.ByteLevel) and not last.use_regex
            and not last.add_prefix_space):
        return pre_tokenizer
    rest = steps[:-1]
    return None if not rest else rest[0] if len(rest) == 1 else pre_tokenizers.Sequence(rest)


_ESCAPE = (r"\\(?:x\{[0-9A-Fa-f]+(?: [0-9A-Fa-f]+)*\}|o\{[0-7]+(?: [0-7]+)*\}"
           r"|[pP]\{\^?[A-Za-z0-9_ ]+\}|[xopPu](?!\{)|[sSdDwWhHnrtfvaeRNO0]|[\W_])")
"""A backslash before a character, or a class of them: a letter that stands for one (with its
{…} argument: code points, a property; any other brace after x, o, p, P or u would make the
letter literal and the braces regex), or punctuation. No boundary, anchor, back-reference, call
or control prefix."""
FORWARD_OUTSIDE_CLASS = re.compile(
    _ESCAPE + r"|\[\^?+(?!\])|\(\?(?:[:=!>]|[imWDSP]*(?:-[imWDSP]*)?[:)])|\((?![?*])|[^\\[(^$]")
"""What a regex that looks only forward may hold outside a character class: escapes, a class
opening (not with `]`, which Oniguruma reads as a character), plain, look-ahead, atomic and
option groups (not extended mode, whose comments could hide anything), and any other character
but an anchor."""
FORWARD_IN_CLASS = re.compile(
    _ESCAPE + r"|\\b|\[:\^?(?:alnum|alpha|ascii|blank|cntrl|digit|graph|lower|print|punct"
    r"|space|upper|word|xdigit):\]|\[(?!:)\^?+(?!\])|[^\\[]")
"""Inside a class: escapes (\\b is backspace there), POSIX brackets (any other `[:` is refused:
Oniguruma before 6.9.9, a system library tokenizers may be built against, reads its `[` as a
character), nested classes, and any other character."""


def looks_only_forward(pattern: str) -> bool:
    """Does the regex decide what it matches at a position from that position on only? Read as
    an allow-list of Oniguruma's syntax (FORWARD_OUTSIDE_CLASS, FORWARD_IN_CLASS): no anchor,
    look-behind, comment, conditional, absent operator or callout. Then a text split at one of
    its match boundaries splits as its two sides do alone, after the boundary."""
    depth, index = 0, 0
    while index < len(pattern):
        unit = (FORWARD_IN_CLASS if depth else FORWARD_OUTSIDE_CLASS).match(pattern, index)
        if unit is None:
            return False
        text, index = unit.group(), unit.end()
        if text.startswith("[") and not text.startswith("[:"):
            depth += 1
        elif text == "]" and depth:
            depth -= 1
    return depth == 0


def splits_forward(splitter) -> bool:
    """Is `splitter` a Split that keeps every piece (isolated, not inverted) at the matches of a
    literal or of a regex that looks only forward? Its pieces of a + b then begin with those of
    a alone exactly when they are those of a followed by those of b."""
    from tokenizers import pre_tokenizers

    if not isinstance(splitter, pre_tokenizers.Split):
        return False
    state = json.loads(splitter.__getstate__())
    pattern = state.get("pattern", {})
    return state.get("behavior") == "Isolated" and state.get("invert") is False and (
        "String" in pattern or looks_only_forward(pattern.get("Regex", "^")))


def trained_roles(messages: list[dict], unmask: bool) -> set[str]:
    """The roles instructlab-training trains: every non-system one of an `unmask: true` row,
    only the assistant's otherwise."""
    return {m["role"] for m in messages} - {"system"} if unmask else {"assistant"}


def reasoning_values(messages: list[dict], unmask: bool) -> list[str]:
    """The reasoning keys of the trained turns that are not None: any of them, even "", turns
    the trainer's reasoning wrapping on for the whole row."""
    trained = trained_roles(messages, unmask)
    return [m[k] for m in messages if m["role"] in trained for k in REASONING_KEYS
            if m.get(k) is not None]


def as_trainer_wraps(messages: list[dict], unmask: bool = True) -> list[dict]:
    """The conversation as instructlab-training wraps it before rendering: the content of every
    trained turn, and its reasoning when some trained turn has a reasoning key."""
    begin, end, reasoning_begin, reasoning_end = TRAINER_MARKERS
    trained = trained_roles(messages, unmask)
    has_reasoning = bool(reasoning_values(messages, unmask))
    wrapped = []
    for message in messages:
        if message["role"] not in trained:
            wrapped.append(message)
            continue
        message = dict(message)
        message["content"] = begin + message["content"] + end
        for key in REASONING_KEYS:
            if has_reasoning and message.get(key) is not None:
                message[key] = reasoning_begin + message[key] + reasoning_end
        wrapped.append(message)
    return wrapped


class TokenCounter:
    """Counts conversations for one tokenizer, remembering every piece it has encoded."""

    def __init__(self, tokenizer):
        tokenizer.add_tokens(list(MARKERS), special_tokens=True)
        self.tokenizer = tokenizer
        self.marker_ids = set(tokenizer.convert_tokens_to_ids(list(MARKERS)))
        self.marker_pattern = re.compile("|".join(map(re.escape, MARKERS)))
        self.backend = getattr(tokenizer, "backend_tokenizer", None)
        if self.backend is not None:  # the trainer asks for neither, whatever tokenizer.json sets
            self.backend.no_truncation()
            self.backend.no_padding()
            from tokenizers import normalizers

            self.normalizer = self.backend.normalizer
            # Unicode's normal forms leave ASCII text as it is: nothing to check there
            self.ascii_unchanged = isinstance(self.normalizer, (
                normalizers.NFC, normalizers.NFD, normalizers.NFKC, normalizers.NFKD))
            self.splitter = splitting_part(self.backend.pre_tokenizer)
            self.forward_only = splits_forward(self.splitter)
        others = [t for t in tokenizer.get_added_vocab() if t not in MARKERS]
        self.added_pattern = re.compile("|".join(map(re.escape, sorted(others, key=len, reverse=True)))) \
            if others else None
        self.piecewise = self.backend is not None and self._pieces_are_independent()
        self.renderer = ShapedRenderer(
            tokenizer.chat_template, lambda conversations: tokenizer.apply_chat_template(
                conversations, tokenize=False))
        self.lengths: dict[str, int] = {}
        self._remembered_chars = 0
        self.encoded = 0
        self.junctions = {"cut": 0, "kept whole": 0}
        self._pre_tokens: dict[str, list[str]] = {}  # junction windows of heads, which recur

    def _encode(self, texts: list[str]) -> list[list[int]]:
        """Ids of each text as `apply_chat_template(tokenize=True)` encodes a rendering (no added
        special tokens); through the Rust tokenizer directly when there is one."""
        if self.backend is not None:
            return [e.ids for e in self.backend.encode_batch_fast(texts, add_special_tokens=False)]
        return self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]

    def _token_counts(self, texts: list[str]) -> list[int]:
        """Tokens of each text, less its markers. A marker is an added special token, one token
        wherever it stands, so the Rust tokenizer's encodings need only their length, not their ids
        made into Python ints."""
        if self.backend is not None:
            return [len(encoding) - len(self.marker_pattern.findall(text)) for text, encoding in
                    zip(texts, self.backend.encode_batch_fast(texts, add_special_tokens=False))]
        return [len(ids) - sum(map(ids.count, self.marker_ids)) for ids in self._encode(texts)]

    def _pieces_are_independent(self) -> bool:
        """Does text cut by a marker encode as its pieces encode alone? Not where the tokenizer
        treats the start of its input specially (a SentencePiece prefix space)."""
        begin = TRAINER_MARKERS[0]
        for a in PROBES:
            for b in PROBES:
                joined = [i for i in self._encode([a + begin + b])[0] if i not in self.marker_ids]
                if joined != self._encode([a])[0] + self._encode([b])[0]:
                    return False
        return True

    def junction_is_clean(self, head: str, tail: str) -> bool:
        """Would head + tail encode as head's tokens followed by tail's? Checked on a window
        around the junction: no added token spans it, normalising does not merge across it, and
        the pre-tokeniser (whose pieces the model never merges) splits the text exactly there:
        the pieces of the whole are the head's then the tail's (for a splitter that looks only
        forward, the head's first is enough: the tail's follow)."""
        a, b = head[-JUNCTION_WINDOW:], tail[:JUNCTION_WINDOW]
        if not a or not b or self.splitter is None:
            return False
        if self.added_pattern is not None and any(
                m.start() < len(a) < m.end() for m in self.added_pattern.finditer(a + b)):
            return False
        normalizer = self.normalizer
        if normalizer is not None and not (self.ascii_unchanged and (a + b).isascii()):
            na, nb = normalizer.normalize_str(a), normalizer.normalize_str(b)
            if normalizer.normalize_str(a + b) != na + nb:
                return False
            a, b = na, nb
        pre_tokenize = self.splitter.pre_tokenize_str
        if a not in self._pre_tokens:
            if len(self._pre_tokens) > REMEMBERED_TEXTS:
                self._pre_tokens.clear()
            self._pre_tokens[a] = [p for p, _ in pre_tokenize(a)]
        head = self._pre_tokens[a]
        joined = [p for p, _ in pre_tokenize(a + b)]
        if joined[:len(head)] != head:
            return False
        return self.forward_only or joined[len(head):] == [p for p, _ in pre_tokenize(b)]

    def _cut_user_turns(self, wrapped: list[dict]) -> list[dict]:
        """Cut each user turn at its last blank line, after it or (for pre-tokenisers that keep
        a newline with what follows) inside it, wherever that is provably clean."""
        begin, end = TRAINER_MARKERS[:2]
        for message in wrapped:
            if message["role"] != "user":
                continue
            content = message["content"][len(begin):-len(end)]
            blank = content.rfind("\n\n")
            cut = next((c for c in (blank + 2, blank + 1) if blank > 0 and c < len(content)
                        and self.junction_is_clean(content[:c], content[c:])), None)
            if cut is None:
                self.junctions["kept whole"] += 1
            else:
                message["content"] = begin + content[:cut] + SPLIT_MARKER + content[cut:] + end
                self.junctions["cut"] += 1
        return wrapped

    def _remember(self, texts: set[str]) -> None:
        if self._remembered_chars > REMEMBERED_CHARS:
            self.lengths = {t: n for t, n in self.lengths.items() if t in texts}
            self._remembered_chars = sum(map(len, self.lengths))
        new = sorted(t for t in texts if t not in self.lengths)
        self.encoded += len(new)
        self._remembered_chars += sum(map(len, new))
        for start in range(0, len(new), ENCODE_BATCH):
            batch = new[start:start + ENCODE_BATCH]
            self.lengths.update(zip(batch, self._token_counts(batch)))

    def count(self, conversations: list[list[dict]], unmask: list[bool] | None = None) -> list[int]:
        """Token count of each conversation as the trainer encodes it (`unmask` per row, default
        true as on every knowledge row)."""
        unmask = [True] * len(conversations) if unmask is None else unmask
        wrapped = [as_trainer_wraps(messages, u) for messages, u in zip(conversations, unmask)]
        if self.piecewise:
            wrapped = [self._cut_user_turns(messages) if u else messages
                       for messages, u in zip(wrapped, unmask)]
        rendered = self.renderer.render(wrapped)
        if not self.piecewise:
            self._remember(set(rendered))
            return [self.lengths[text] for text in rendered]
        pieces = [[p for p in self.marker_pattern.split(text) if p] for text in rendered]
        self._remember({p for row in pieces for p in row})
        return [sum(self.lengths[p] for p in row) for row in pieces]
