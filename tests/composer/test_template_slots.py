"""A block rendered from the frame of its printed-only values reads as rendering it anew.

Titles, links and summaries differ per release; a block that only prints them as they are
is rendered once with stand-ins, and each release's values take their place. Whatever the
template and the values, the text (or the error) is that of rendering the block with them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from scheduler.errors import SiarError
from scheduler.text import template_slots, templating
from tests.composer import strategies

_FRAGMENTS = [
    "{{ title }}", "{{ link }}", "{{ summary }}", "\n", "\n\n", " — ", "Baca: ",
    "{{ title|upper }}", "{{ title | e }}", "{{ link|length }}", "{{ title ~ link }}",
    "{{ title[:5] }}", "{{ summary or 'tanpa ringkasan' }}",
    "{% if link %}Selengkapnya: {{ link }}{% endif %}",
    "{% if summary %}{{ summary }}{% else %}{{ title }}{% endif %}",
    "{% for tag in hashtags %}{{ tag }} {{ title }}{% endfor %}",
    "{% for tag in hashtags if link %}{{ tag }}{% else %}{{ link }}{% endfor %}",
    "{% for c in title|list recursive %}{{ c }}{% endfor %}",
    "{% filter upper %}{{ title }}{% endfilter %}",
    "{% set x %}{{ summary }}{% endset %}{{ x|length }}",
    "{% set title = 'ditimpa' %}{{ title }}",
    "{% with t = link %}{{ t }}{% endwith %}",
    "{{ (mentions + hashtags) | join(' ') }}", "{{ mention('ditjenpas') }}",
    "{% block inner %}{{ title }}{% endblock %}",
    "{{ self.inner() if false else '' }}", "{% macro m() %}{{ title }}{% endmacro %}",
    "{% for i in range(3) %}{{ title }}{% endfor %}",
    "{% for c in [[1]] recursive %}{% if c is number %}{{ title }}{% else %}"
    "{{ loop(c)|upper }}{% endif %}{% endfor %}",
    "{{ m()|upper }}",
]
# a macro outside the blocks, which a block may call
_OUTSIDE = ["", "{% macro m() %}{{ title }}{% endmacro %}"]
_TEMPLATE = st.builds(
    lambda outside, parts: outside + "{% block post %}" + "".join(parts)
    + "\n{{ body }}{% endblock %}",
    st.sampled_from(_OUTSIDE), st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=4))
_CONTEXT = st.fixed_dictionaries({
    "title": strategies.title,
    "link": st.sampled_from(["", "https://ditjenpas.go.id/berita?id=1&b=2",
                             "{{ title }}", "\x00slot"]),
    "summary": st.sampled_from(["", "Ringkasan.", "“kutipan”\n\nbaris"]),
    "hashtags": st.lists(st.sampled_from(["#Lapas", "#Humas"]), max_size=2).map(tuple),
    "mentions": st.just(("@ditjenpas",)),
    "body": st.sampled_from(["Isi rilis.", "\x00siar-body\x00"]),
})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slot-templates")


def _load(folder: Path, source: str) -> templating.Template:
    name = hashlib.sha256(source.encode()).hexdigest()[:16] + ".j2"
    (folder / name).write_text(source)
    return templating.load((str(folder),), name)


def _text(render: Any) -> str | tuple[type, str]:
    try:
        return render()
    except SiarError as exc:
        return type(exc), str(exc)


@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=_TEMPLATE, context=_CONTEXT)
def test_a_block_from_its_frame_reads_as_the_block_rendered_anew(folder: Path, source: str,
                                                                 context: dict) -> None:
    from scheduler.text.mentions import MentionFunction

    try:
        template = _load(folder, source)
    except SiarError:  # e.g. the same inner block twice: no template to render
        reject()
    context = {**context, "mention": MentionFunction.of("x", "plain", {})}
    printed = template_slots._printed_only(template, templating.parsed).get("post")
    event(f"printed only: {sorted(printed or ())}")
    from_frame = _text(lambda: template_slots.render(template, "post", context,
                                                     templating.parsed))
    assert from_frame == _text(lambda: template.blocks["post"](context))


def test_the_built_in_templates_print_the_title_as_it_is() -> None:
    """The point of it: the networks' own templates take their frame from the cache."""
    search = (str(templating.templates_dir()),)
    printed = template_slots._printed_only(templating.load(search, "mastodon.j2"),
                                           templating.parsed)
    assert {"title", "link"} <= printed["post"]
    email = template_slots._printed_only(templating.load(search, "email.j2"), templating.parsed)
    assert "title" in email["post"] and "link" not in email["post"]  # {% if link %}
    assert "title" not in email["html"]  # {{ title | e }}
