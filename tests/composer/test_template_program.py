"""A template kept as a program renders as Jinja2 renders it, or is left to Jinja2.

Blocks made only of text, printed values, ``+``, ``join``, ``e`` and ``if`` are run without
Jinja2 once their program is kept (``scheduler/text/template_program.py``). For every such
template and context, the program gives Jinja2's text, and fails exactly where Jinja2 fails
(Jinja2 then renders the block and names the error); any other template is not translated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.errors import ComposeError
from scheduler.resources import templates_dir
from scheduler.text import template_limits, template_program, templating

_NAMES = ["title", "link", "mentions", "hashtags", "summary", "absent"]
_TEXT = st.text(alphabet=" \n\r\tab<>&\"'—é#", max_size=6).filter(
    lambda text: "{" not in text and "#}" not in text)
_LITERAL = st.text(alphabet=" ab,<&—", max_size=3)


def _expression(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda pair: f"({pair[0]} + {pair[1]})"),
        st.tuples(children, _LITERAL).map(lambda pair: f'({pair[0]}) | join("{pair[1]}")'),
        children.map(lambda inner: f"({inner}) | join"),
        children.map(lambda inner: f"({inner}) | e"),
        children.map(lambda inner: f"({inner}) | escape"),
    )


_EXPRESSION = st.recursive(
    st.one_of(st.sampled_from(_NAMES), _LITERAL.map(lambda text: f'"{text}"')),
    _expression, max_leaves=4)


def _statements(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    branch = st.tuples(_EXPRESSION, children)
    return st.one_of(
        st.lists(children, max_size=3).map("".join),
        st.tuples(branch, st.lists(branch, max_size=2), st.none() | children).map(
            lambda parts: "{% if " + parts[0][0] + " %}" + parts[0][1] + "".join(
                "{% elif " + test + " %}" + body for test, body in parts[1])
            + ("" if parts[2] is None else "{% else %}" + parts[2]) + "{% endif %}"),
    )


_STATEMENTS = st.recursive(
    st.one_of(_TEXT, _EXPRESSION.map(lambda expression: "{{ " + expression + " }}")),
    _statements, max_leaves=6)
_VALUE = st.one_of(
    st.none(), st.text(alphabet="ab <&>\"'#@é", max_size=5),
    st.lists(st.text(alphabet="#ab@<&", max_size=4), max_size=3).map(tuple),
    st.lists(st.text(alphabet="ab", max_size=2), max_size=2),
    st.booleans(), st.integers(-2, 2))
_CONTEXT = st.dictionaries(st.sampled_from(_NAMES), _VALUE)


def _jinja(source: str) -> Any:
    return templating._environment(("/nonexistent",)).from_string(source)


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "text", run()
    except Exception as exc:  # the kind of failure is Jinja2's to name
        return "failed", type(exc).__name__


@settings(max_examples=400, deadline=None)
@given(_STATEMENTS, _STATEMENTS, _CONTEXT)
def test_a_program_renders_each_block_as_jinja2_or_fails_where_it_fails(
        post: str, other: str, context: dict[str, Any]) -> None:
    source = ("{#- note -#}\n{% block post %}\n" + post + "\n{% endblock %}\n"
              "{% block html %}" + other + "{% endblock %}\n")
    template = _jinja(source)
    programs = template_program.translate(templating._environment(
        ("/nonexistent",)).parse(source))
    assert programs is not None and set(programs) == {"post", "html"}
    for block, render in template.blocks.items():
        expected = _outcome(lambda render=render: template_limits.collect(
            render(template.new_context(context))))
        got = _outcome(lambda block=block: template_program.run(programs[block], context))
        if expected[0] == "text":
            assert got == expected
        else:  # left to Jinja2, which raises its own error
            assert got == ("failed", "Unsupported")


@pytest.mark.parametrize("name", sorted(path.name for path in templates_dir().glob("*.j2")))
def test_every_built_in_template_is_kept_as_a_program(name: str) -> None:
    environment = templating._environment((str(templates_dir()),))
    source = environment.loader.get_source(environment, name)[0]
    programs = template_program.translate(environment.parse(source))
    assert programs is not None
    assert set(programs) == set(environment.get_template(name).blocks)


@given(context=st.fixed_dictionaries({
    "title": st.text(max_size=20), "link": st.sampled_from(["", "https://a.id/?x=1&y=<2>"]),
    "link_attr": st.sampled_from(["", "https://a.id/?x=1&amp;y=2"]),
    "summary": st.text(max_size=10), "language": st.sampled_from(["id", "en"]),
    "body": st.text(max_size=30), "body_html": st.text(max_size=30),
    "mentions": st.lists(st.text(max_size=8), max_size=2).map(tuple),
    "hashtags": st.lists(st.text(max_size=8), max_size=3).map(tuple)}))
@settings(max_examples=60, deadline=None)
def test_the_built_in_templates_render_as_jinja2_renders_them(context: dict[str, Any]) -> None:
    environment = templating._environment((str(templates_dir()),))
    for path in sorted(templates_dir().glob("*.j2")):
        source = path.read_text(encoding="utf-8")
        programs = template_program.translate(environment.parse(source))
        assert programs is not None
        template = environment.get_template(path.name)
        for block, render in template.blocks.items():
            assert template_program.run(programs[block], context) == template_limits.collect(
                render(template.new_context(context))), (path.name, block)


@pytest.mark.parametrize("source", [
    "{% block post %}{% for t in hashtags %}{{ t }}{% endfor %}{% endblock %}",
    "{% block post %}{% set x = title %}{{ x }}{% endblock %}",
    "{% block post %}{{ title | upper }}{% endblock %}",
    "{% block post %}{{ title | join(link) }}{% endblock %}",
    "{% block post %}{{ mention('ditjenpas') }}{% endblock %}",
    "{% block post %}{{ title ~ link }}{% endblock %}",
    "{% block post %}{{ 1 }}{% endblock %}",
    "{% block post %}{{ self.html() }}{% endblock %}{% block html %}x{% endblock %}",
    "{% block post %}{% block inner %}{{ title }}{% endblock %}{% endblock %}",
    "{% block post scoped %}{{ title }}{% endblock %}",
    "{% macro m() %}{{ title }}{% endmacro %}{% block post %}{{ m() }}{% endblock %}",
    "{% extends 'x.j2' %}{% block post %}{{ title }}{% endblock %}",
    "{% include 'x.j2' %}{% block post %}{{ title }}{% endblock %}",
    "{% set title = 'a' %}{% block post %}{{ title }}{% endblock %}",
])
def test_a_template_with_anything_else_is_left_to_jinja2(source: str) -> None:
    assert template_program.translate(templating._environment(
        ("/nonexistent",)).parse(source)) is None


def _fresh_process_state() -> None:
    """What one ``siar`` process remembers of templates, forgotten (a new process)."""
    for remembered in (templating.load, templating._jinja_blocks, templating._stored_facts,
                       templating._source,
                       templating._facts, templating.parsed):
        remembered.cache_clear()


def test_a_kept_program_is_used_and_jinja2_still_names_what_is_wrong(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAR_HOME", str(tmp_path / "home"))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "t.j2").write_text("{% block post %}{{ title }} {{ hashtags | join(' ') }}"
                                 "{% endblock %}", encoding="utf-8")
    _fresh_process_state()
    first = templating.load((str(folder),), "t.j2")
    assert templating.printed_only(first) == {"post": frozenset({"title"})}  # keeps facts
    kept = [json.loads(path.read_text(encoding="utf-8"))
            for path in (tmp_path / "home" / "cache" / "templates").glob("facts-*.json")]
    assert [facts["programs"] for facts in kept] == [{"post": [
        ["out", ["name", "title"]], ["data", " "],
        ["out", ["join", ["name", "hashtags"], " "]]]}]

    _fresh_process_state()
    second = templating.load((str(folder),), "t.j2")
    context = {"title": "Rakor", "hashtags": ("#Lapas", "#Humas")}
    assert second.blocks["post"](context) == first.blocks["post"](context) \
        == "Rakor #Lapas #Humas"
    assert templating._jinja_blocks.cache_info().currsize == 0  # Jinja2 was not needed
    with pytest.raises(ComposeError, match="'hashtags' is undefined"):
        second.blocks["post"]({"title": "Rakor"})  # Jinja2's own words


def test_an_edited_template_is_not_run_from_the_program_of_its_old_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAR_HOME", str(tmp_path / "home"))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "t.j2").write_text("{% block post %}lama {{ title }}{% endblock %}",
                                 encoding="utf-8")
    _fresh_process_state()
    templating.printed_only(templating.load((str(folder),), "t.j2"))
    (folder / "t.j2").write_text("{% block post %}baru {{ title | upper }}{% endblock %}",
                                 encoding="utf-8")
    _fresh_process_state()
    assert templating.load((str(folder),), "t.j2").blocks["post"]({"title": "a"}) == "baru A"
