"""Rendering each conversation shape once: the proof, its guards, and renderings identical to the
template's (docs/behaviour.md#token-counting)."""
import pytest
from helpers import BOS_TEMPLATE, CHATML, LLAMA2, fresh_tokenizer, knowledge_rows

from knowledge_mixing.rows import build_messages
from knowledge_mixing.sets import knowledge_set
from knowledge_mixing.template_shapes import WHITESPACE, NotProvable, ShapedRenderer, read_template
from knowledge_mixing.token_counter import TokenCounter, as_trainer_wraps


REPLAY = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
          {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye?"},
          {"role": "assistant", "content": "Bye.", "reasoning_content": "A farewell."}]


@pytest.fixture(scope="module")
def conversations(step03_layouts, tmp_path_factory):
    """The example rows (reasoning in both forms: reasoning_content and gpt-oss `thinking`)."""
    rows = knowledge_rows(step03_layouts["old"], tmp_path_factory.mktemp("rows"))[0].to_pylist()
    return [build_messages(knowledge_set(r["set"]), r["document_outline"], r["document"],
                           r["question"], r["response"], r["reasoning"], gpt_oss)
            for r in rows for gpt_oss in (False, True)]


@pytest.fixture(scope="module")
def wrapped(conversations):
    """The example rows as the trainer wraps them, and a replay conversation with system turns
    wrapped both ways (unmask false and true)."""
    return [as_trainer_wraps(c) for c in conversations] + [
        as_trainer_wraps(REPLAY, unmask=False), as_trainer_wraps(REPLAY)]


def renderer_of(tokenizer):
    return ShapedRenderer(tokenizer.chat_template,
                          lambda c: tokenizer.apply_chat_template(c, tokenize=False))


def test_the_bundled_qwen_template_is_proved_with_its_guards(qwen_tokenizer):
    guards = read_template(qwen_tokenizer.chat_template)
    assert guards.absent == {"</think>", "<think>"}
    assert guards.not_first == {"<tool_response>", "\n"}
    assert guards.not_last == {"</tool_response>", "\n"}
    assert guards.non_empty


@pytest.mark.parametrize("kind", ["qwen", "bos", "sentencepiece", "wordpiece"])
def test_rendering_by_shape_is_the_templates(wrapped, tokenizers, kind):
    tokenizer = tokenizers(kind, "ours")
    renderer = renderer_of(tokenizer)
    assert renderer.render(wrapped) == tokenizer.apply_chat_template(wrapped, tokenize=False)
    assert renderer.by_template == 0 and renderer.by_shape == len(wrapped)
    assert len(renderer.shapes) >= 4  # without and with reasoning, thinking, replay shapes


@pytest.mark.parametrize("template", [BOS_TEMPLATE, CHATML])
def test_templates_that_only_print_contents_have_no_guards(template):
    guards = read_template(template)
    assert (guards.absent, guards.not_first, guards.not_last, guards.non_empty) == (
        set(), set(), set(), False)


def test_trim_guards_against_whitespace_at_either_end():
    guards = read_template(LLAMA2)
    assert guards.not_first == guards.not_last == set(WHITESPACE)
    assert guards.allow("text") and not guards.allow(" text") and not guards.allow("text\n")


@pytest.mark.parametrize("template,why", [
    ("{% for m in messages %}{{ m['content'] | upper }}{% endfor %}", "filters a text with `upper`"),
    ("{% for m in messages %}{% if m['content'] == 'x' %}x{% endif %}{% endfor %}",
     "compares a content"),
    ("{% for m in messages %}{{ m['content'][0] }}{% endfor %}", "indexes into a content"),
    ("{% for m in messages %}{% for c in m.content %}{{ c }}{% endfor %}{% endfor %}",
     "loops over a content"),
    ("{% macro show(m) %}{{ m.content }}{% endmacro %}", "uses Macro"),
    ("{% for m in messages %}{{ m.content.upper() }}{% endfor %}", "calls .upper of a content"),
    ("{% for m in messages %}{% set ns = namespace(c=m.content) %}{{ ns.c|length }}{% endfor %}",
     "passes a content to a function"),
    ("{% for m in messages %}{{ m.content.split('x')[1] }}{% endfor %}",
     "takes another part of a split content"),
])
def test_templates_doing_more_with_a_content_are_not_proved(template, why):
    with pytest.raises(NotProvable, match=why.replace("[", r"\[")):
        read_template(template)


def test_an_unproved_template_renders_every_row_itself(qwen_tokenizer, wrapped):
    template = qwen_tokenizer.chat_template.replace(
        "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}",
        "{{- '<|im_start|>' + message.role + '\\n' + message.content|replace('\\t', ' ') + "
        "'<|im_end|>' + '\\n' }}")
    assert template != qwen_tokenizer.chat_template

    def render(conversations):
        return qwen_tokenizer.apply_chat_template(conversations, tokenize=False,
                                                  chat_template=template)

    renderer = ShapedRenderer(template, render)
    assert renderer.why_not == "filters a text with `replace`"
    assert renderer.render(wrapped) == render(wrapped)
    assert renderer.by_shape == 0 and renderer.by_template == len(wrapped)


@pytest.mark.parametrize("conversation", [
    [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "a</think>b"}],
    [{"role": "user", "content": "\nWhy?"}, {"role": "assistant", "content": "So."}],  # unmask false
    [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "So.", "name": "x"}],
    [{"role": "user", "content": ""}, {"role": "assistant", "content": "So."}],
], ids=["guarded text", "leading newline", "another key", "empty text"])
def test_a_row_outside_the_guards_is_rendered_by_the_template(qwen_tokenizer, conversation):
    rows = [as_trainer_wraps([{"role": "user", "content": "Why?"},
                              {"role": "assistant", "content": "So."}]),
            as_trainer_wraps(conversation, unmask=False)]
    renderer = renderer_of(qwen_tokenizer)
    assert renderer.render(rows) == qwen_tokenizer.apply_chat_template(rows, tokenize=False)
    assert (renderer.by_shape, renderer.by_template) == (1, 1)


def test_a_shape_the_template_refuses_fails_as_the_template_does(qwen_tokenizer):
    template = "{% for m in messages %}{% if m.role == 'system' %}" \
               "{{ raise_exception('no system turns') }}{% endif %}{{ m.content }}{% endfor %}"

    def render(conversations):
        return qwen_tokenizer.apply_chat_template(conversations, tokenize=False,
                                                  chat_template=template)

    renderer = ShapedRenderer(template, render)
    with pytest.raises(Exception, match="no system turns"):
        renderer.render([[{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]])
    assert renderer.render([[{"role": "user", "content": "y"}]]) == ["y"]


def test_the_counter_counts_through_the_template_when_it_is_not_proved(tokenizer_dirs,
                                                                     conversations):
    """Both paths count the same: the test tokenizers' templates are proved (rendered by shape);
    the same tokenizer with an unprovable template renders every row itself."""
    proved = TokenCounter(fresh_tokenizer(tokenizer_dirs["wordpiece"]))
    unproved_tokenizer = fresh_tokenizer(tokenizer_dirs["wordpiece"])
    unproved_tokenizer.chat_template = CHATML.replace(
        "{{ m['content'] }}", "{{ m['content'] | replace('\\t', '\\t') }}")
    unproved = TokenCounter(unproved_tokenizer)
    rows = conversations + [REPLAY]
    assert proved.count(rows) == unproved.count(rows)
    assert proved.renderer.by_template == 0 and unproved.renderer.by_shape == 0
