"""Rendering each conversation shape once (docs/behaviour.md#token-counting).

A chat template turns a conversation into text. For most templates that text is fixed text with
the messages' contents put in, in order: what is fixed depends only on the conversation's shape
(its roles, which fields each message has), not on what the contents say. Then a conversation is
rendered by filling its contents into its shape's fixed parts, with no template run per row.

Whether a template is like that is proved, not assumed:
1. Its syntax tree is read, following every value that comes from a message's content or
   reasoning. Such a value may be printed, or go through the few operations chat templates use
   on it (`x in value`, `startswith`, `endswith`, `strip`/`lstrip`/`rstrip`, `split(...)[0|-1]`,
   `trim`, being tested for truth or presence). Each such operation gives a guard: a condition
   on the contents (e.g. "contains no `</think>`", "does not start with a newline") under which
   it does the same as on any other content that meets the guard. Anything else done with a
   content (another filter, a method, a comparison) and the template is not provable: every row
   is rendered by the template.
2. For each shape, the template is rendered twice with placeholder contents that meet every guard;
   both renderings must be fixed text and each placeholder at most once (a template may leave a
   field out), with the same fixed text.
A row whose contents all meet the guards is then rendered exactly as the template would; any
other row is rendered by the template itself.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

FIELDS = ("content", "reasoning_content", "thinking")
"""The message fields whose text is filled in; a message with other keys is not shaped."""
WHITESPACE = frozenset(string.whitespace)
PLACEHOLDER = "\ue000{}\ue001"
"""Private-use characters around a number: text no template compares against."""


@dataclass
class Guards:
    """Conditions every content must meet for the template to treat it as it treats any other."""

    absent: set[str] = field(default_factory=set)
    """Texts the content must not contain."""
    not_first: set[str] = field(default_factory=set)
    """Texts (or characters) the content must not start with."""
    not_last: set[str] = field(default_factory=set)
    non_empty: bool = False

    def allow(self, value: str) -> bool:
        return (not self.non_empty or bool(value)) \
            and not any(text in value for text in self.absent) \
            and not any(value.startswith(text) for text in self.not_first) \
            and not any(value.endswith(text) for text in self.not_last)


class NotProvable(Exception):
    """The template does something with a content that the proof does not cover."""


# value kinds while reading the template
MESSAGES, MESSAGE, TEXT, PARTS = "messages", "message", "text", "parts"
"""The list of messages, one message, a content's text, the list `split` makes of a text."""


class _Reader:
    """Walks a Jinja syntax tree, tracking which names hold messages or their texts."""

    def __init__(self):
        self.guards = Guards()
        self.names: dict[str, str | None] = {"messages": MESSAGES}

    # statements
    def body(self, statements) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node) -> None:
        from jinja2 import nodes

        if isinstance(node, nodes.Output):
            for part in node.nodes:
                if not isinstance(part, nodes.TemplateData) and self.expression(part) not in (
                        None, TEXT):
                    raise NotProvable(f"prints a {self.expression(part)}")
        elif isinstance(node, nodes.If):
            self.test(node.test)
            self.body(node.body)
            for branch in node.elif_:
                self.statement(branch)
            self.body(node.else_)
        elif isinstance(node, nodes.For):
            iterated = self.expression(node.iter)
            if iterated in (TEXT, PARTS, MESSAGE):
                raise NotProvable("loops over a content")
            self.assign(node.target, MESSAGE if iterated == MESSAGES else None)
            if node.test is not None:
                self.test(node.test)
            self.body(node.body)
            self.body(node.else_)
        elif isinstance(node, nodes.Assign):
            self.assign(node.target, self.expression(node.node))
        elif isinstance(node, (nodes.ExprStmt,)):
            self.expression(node.node)
        elif isinstance(node, (nodes.Break, nodes.Continue)):
            pass
        else:
            raise NotProvable(f"uses {type(node).__name__}")

    def assign(self, target, kind) -> None:
        from jinja2 import nodes

        if isinstance(target, nodes.Name):
            # a name set in several branches holds text if any branch sets text
            if self.names.get(target.name) is None or kind is not None:
                self.names[target.name] = kind
        elif isinstance(target, nodes.NSRef):
            key = f"{target.name}.{target.attr}"
            if self.names.get(key) is None or kind is not None:
                self.names[key] = kind
        elif isinstance(target, nodes.Tuple):
            if kind is not None:
                raise NotProvable("unpacks a message")
            for item in target.items:
                self.assign(item, None)
        else:
            raise NotProvable(f"assigns to {type(target).__name__}")

    def test(self, node) -> None:
        """A condition: it may depend on the shape, or on a text only through a guard."""
        if self.expression(node) == TEXT:  # truthiness of a text
            self.guards.non_empty = True

    # expressions: the kind of value they give, recording guards on the way
    def expression(self, node):  # noqa: C901 (one branch per node type)
        from jinja2 import nodes

        if isinstance(node, (nodes.Const, nodes.TemplateData)):
            return None
        if isinstance(node, nodes.Name):
            return self.names.get(node.name)
        if isinstance(node, nodes.Getattr):
            if isinstance(node.node, nodes.Name) and f"{node.node.name}.{node.attr}" in self.names:
                return self.names[f"{node.node.name}.{node.attr}"]  # a namespace's attribute
            return self.member(self.expression(node.node), node.attr)
        if isinstance(node, nodes.Getitem):
            return self.item(node)
        if isinstance(node, nodes.Slice):
            for part in (node.start, node.stop, node.step):
                if part is not None and self.expression(part) is not None:
                    raise NotProvable("slices with a content")
            return None
        if isinstance(node, nodes.Test):
            return self.test_of(node)
        if isinstance(node, nodes.Filter):
            return self.filtered(node)
        if isinstance(node, nodes.Call):
            return self.call(node)
        if isinstance(node, nodes.Compare):
            return self.compare(node)
        if isinstance(node, (nodes.Add, nodes.Concat)):
            parts = [node.left, node.right] if isinstance(node, nodes.Add) else node.nodes
            kinds = {self.expression(part) for part in parts}
            if kinds - {None, TEXT}:
                raise NotProvable("joins a message or a list")
            return TEXT if TEXT in kinds else None
        if isinstance(node, (nodes.And, nodes.Or)):
            for part in (node.left, node.right):
                self.test(part)
            return None
        if isinstance(node, nodes.Not):
            self.test(node.node)
            return None
        if isinstance(node, nodes.CondExpr):
            self.test(node.test)
            kinds = {self.expression(node.expr1)} | (
                {self.expression(node.expr2)} if node.expr2 is not None else set())
            return TEXT if TEXT in kinds else next((k for k in kinds if k), None)
        if isinstance(node, (nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
                             nodes.Pow, nodes.Neg, nodes.Pos)):
            for child in node.iter_child_nodes():
                if self.expression(child) is not None:
                    raise NotProvable("does arithmetic with a content")
            return None
        if isinstance(node, (nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword)):
            for child in node.iter_child_nodes():
                if self.expression(child) is not None:
                    raise NotProvable("puts a content in a collection")
            return None
        raise NotProvable(f"uses {type(node).__name__}")

    @staticmethod
    def member(kind, name: str):
        if kind == MESSAGE:
            return TEXT if name in FIELDS else None  # role and absent keys: the shape's
        if kind in (TEXT, PARTS, MESSAGES):
            raise NotProvable(f"reads .{name} of a {kind}")
        return None

    def item(self, node):
        from jinja2 import nodes

        kind = self.expression(node.node)
        index = node.arg
        if kind == MESSAGES:
            if self.expression(index) is not None:
                raise NotProvable("indexes messages with a content")
            return MESSAGES if isinstance(index, nodes.Slice) else MESSAGE
        if kind == MESSAGE:
            if isinstance(index, nodes.Const) and isinstance(index.value, str):
                return self.member(kind, index.value)
            raise NotProvable("reads a message by a computed key")
        if kind == PARTS:
            # split(x)[0] and [-1] are the whole text when it does not contain x
            if isinstance(index, nodes.Const) and index.value in (0, -1):
                return TEXT
            if isinstance(index, nodes.Neg) and isinstance(index.node, nodes.Const) \
                    and index.node.value == 1:
                return TEXT
            raise NotProvable("takes another part of a split content")
        if kind == TEXT:
            raise NotProvable("indexes into a content")
        self.expression(index)
        return None

    def test_of(self, node):
        kind = self.expression(node.node)
        if kind in (TEXT, PARTS, MESSAGE) and node.name not in (
                "defined", "undefined", "none", "string"):
            raise NotProvable(f"tests a content with `is {node.name}`")
        for argument in node.args:
            if self.expression(argument) is not None:
                raise NotProvable("tests with a content")
        return None  # presence and None-ness are the shape's

    def filtered(self, node):
        kind = self.expression(node.node) if node.node is not None else None
        for argument in [*node.args, *(k.value for k in node.kwargs)]:
            if self.expression(argument) is not None:
                raise NotProvable("passes a content to a filter")
        if kind == MESSAGES and node.name in ("length", "count"):
            return None
        if kind == TEXT and node.name == "trim" and not node.args:
            self.guards.not_first |= WHITESPACE
            self.guards.not_last |= WHITESPACE
            return TEXT
        if kind is not None:
            raise NotProvable(f"filters a {kind} with `{node.name}`")
        return None

    def constant_text(self, node) -> str:
        from jinja2 import nodes

        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            return node.value
        raise NotProvable("calls a content's method with a computed argument")

    def call(self, node):
        from jinja2 import nodes

        if not isinstance(node.node, nodes.Getattr):
            for argument in [*node.args, *(k.value for k in node.kwargs)]:
                if self.expression(argument) is not None:
                    raise NotProvable("passes a content to a function")
            self.expression(node.node)
            return None
        kind = self.expression(node.node.node)
        method = node.node.attr
        if kind != TEXT:
            if kind is not None:
                raise NotProvable(f"calls .{method} of a {kind}")
            for argument in [*node.args, *(k.value for k in node.kwargs)]:
                if self.expression(argument) is not None:
                    raise NotProvable("passes a content to a method")
            return None
        if node.kwargs or len(node.args) > 1:
            raise NotProvable(f"calls .{method} with more than one argument")
        argument = self.constant_text(node.args[0]) if node.args else None
        if method in ("startswith", "endswith") and argument:
            (self.guards.not_first if method == "startswith" else self.guards.not_last).add(
                argument)
            return None
        if method in ("strip", "lstrip", "rstrip"):
            characters = set(argument) if argument is not None else WHITESPACE
            if method != "rstrip":
                self.guards.not_first |= characters
            if method != "lstrip":
                self.guards.not_last |= characters
            return TEXT
        if method == "split" and argument:
            self.guards.absent.add(argument)
            return PARTS
        raise NotProvable(f"calls .{method} of a content")

    def compare(self, node):
        kinds = [self.expression(node.expr)] + [self.expression(op.expr) for op in node.ops]
        if not any(kinds):
            return None
        if len(node.ops) == 1 and node.ops[0].op in ("in", "notin") and kinds == [None, TEXT]:
            self.guards.absent.add(self.constant_text(node.expr))
            return None
        raise NotProvable("compares a content")


def read_template(source: str) -> Guards:
    """The guards under which `source` renders fixed text and the contents; NotProvable if it
    does anything else with a content."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                extensions=["jinja2.ext.loopcontrols"])
    reader = _Reader()
    reader.body(environment.parse(source).body)
    return reader.guards


def shape_of(conversation: list[dict]) -> tuple | None:
    """What the fixed text of a rendering depends on: each message's role and which text fields
    it has (None for a message with other keys, which is not shaped)."""
    shape = []
    for message in conversation:
        keys = set(message) - {"role"}
        if not keys <= set(FIELDS) or not all(isinstance(message[k], str) for k in keys):
            return None
        shape.append((message["role"], tuple(k for k in FIELDS if k in keys)))
    return tuple(shape)


def _texts(conversation: list[dict]) -> list[str]:
    return [message[key] for message in conversation for key in FIELDS if key in message]


class ShapedRenderer:
    """Renders conversations as `render(conversations)` (the tokenizer's chat template) does,
    filling each proven shape's fixed text instead of running the template per row."""

    def __init__(self, chat_template: str, render):
        self.render_by_template = render
        try:
            self.guards = read_template(chat_template)
            self.why_not = ""
        except NotProvable as e:
            self.guards, self.why_not = None, str(e)
        self.shapes: dict[tuple, tuple | None] = {}
        self.by_template = self.by_shape = 0

    def _fixed_text(self, shape: tuple):
        """The shape's fixed text and, per gap, which text goes there; None when the two
        placeholder renderings do not show the same fixed text and each placeholder at most
        once."""
        layouts = []
        for offset in (0, 1000):
            count = sum(len(fields) for _, fields in shape)
            placeholders = [PLACEHOLDER.format(offset + i) for i in range(count)]
            if not all(self.guards.allow(p) for p in placeholders):
                return None
            numbered = iter(range(count))
            probe = [{"role": role, **{key: placeholders[next(numbered)] for key in fields}}
                     for role, fields in shape]
            try:
                text = self.render_by_template([probe])[0]
            except Exception:  # the template refuses this shape: each row shows its own error
                return None
            parts, order = [], []
            while True:
                found = [(text.find(p), i) for i, p in enumerate(placeholders) if p in text]
                if not found:
                    break
                position, index = min(found)
                parts.append(text[:position])
                order.append(index)
                text = text[position + len(placeholders[index]):]
            parts.append(text)
            layouts.append((tuple(parts), tuple(order)))
        return layouts[0] if layouts[0] == layouts[1] and len(set(layouts[0][1])) == len(
            layouts[0][1]) else None

    def render(self, conversations: list[list[dict]]) -> list[str]:
        rendered: list[str | None] = [None] * len(conversations)
        slow = []
        for row, conversation in enumerate(conversations):
            shape = shape_of(conversation) if self.guards is not None else None
            if shape is not None and shape not in self.shapes:
                self.shapes[shape] = self._fixed_text(shape)
            layout = self.shapes.get(shape) if shape is not None else None
            texts = _texts(conversation)
            if layout is None or not all(self.guards.allow(t) for t in texts):
                slow.append(row)
                continue
            parts, order = layout
            pieces = [parts[0]]
            for index, part in zip(order, parts[1:]):
                pieces += (texts[index], part)
            rendered[row] = "".join(pieces)
        if slow:
            for row, text in zip(slow, self.render_by_template([conversations[r] for r in slow])):
                rendered[row] = text
        self.by_template += len(slow)
        self.by_shape += len(conversations) - len(slow)
        return rendered
