"""A deployment's template that would run for ever or make gigabytes ends quickly with
exit 1 and a message naming the template and the limit; nothing is queued."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.text import template_limits
from tests.core.conftest import row_counts

RUNAWAY = {
    "a range of a billion": (
        "{% for i in range(10**9) %}x{% endfor %}", "range() of more than 100,000 items"),
    "nested loops that print nothing": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "took longer than 2 s"),
    "nested loops that print": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}"
        "{% endfor %}", "took longer than 2 s"),
    "a gigabyte string": ("{{ 'a' * 10**9 }}", "'*' would make 1,000,000,000 characters"),
    "a padded string": ("{{ title.ljust(10**9) }}", "str.ljust would make"),
    "a centred filter": ("{{ title|center(10**9) }}", "the center filter would make"),
    "a printf width": ("{{ '%0999999999d' % 1 }}", "a '%' width would make"),
    "a format width": ("{{ '{:>999999999}'.format(1) }}", "a format width would make"),
    "a string doubled in a loop": (
        "{% set s = namespace(v=title) %}{% for i in range(60) %}{% set s.v = s.v ~ s.v %}"
        "{% endfor %}{{ s.v|length }}", "a value would make"),
    "a huge power": ("{{ 7 ** 1000000 }}", "a power larger than"),
    "a macro calling itself": (
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
}


@pytest.fixture
def own_template(workspace: Path) -> Path:
    """The workspace's X account renders with templates/x.j2 from the deployment."""
    folder = workspace / "templates"
    folder.mkdir()
    config = workspace / "siar.toml"
    config.write_text(f'templates_dir = "{folder}"\n' + config.read_text(encoding="utf-8"),
                      encoding="utf-8")
    return folder / "x.j2"


@pytest.mark.parametrize("case", sorted(RUNAWAY))
@pytest.mark.parametrize("command", ["add", "preview"])
def test_a_runaway_template_is_an_error_naming_the_template_and_the_limit(
        case: str, command: str, workspace: Path, own_template: Path, siar) -> None:
    body, expected = RUNAWAY[case]
    own_template.write_text("{% block post %}" + body + "{% endblock %}\n", encoding="utf-8")
    result = siar(command, "rilis.md", "--channels", "x")
    assert result.code == 1, result
    assert "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "template x.j2" in message and expected in message, message
    assert "fix:" in message
    assert row_counts(workspace)["post"] == 0


def test_an_ordinary_template_still_renders(workspace: Path, own_template: Path, siar) -> None:
    own_template.write_text(
        "{% block post %}{{ title|upper }} — {% for tag in hashtags %}{{ tag }} {% endfor %}"
        "{{ '%s/%d' % ('a', 2024) }} {{ '{:>6}'.format(7) }} {{ range(3)|list|length }}"
        "{% endblock %}\n", encoding="utf-8")
    result = siar("preview", "rilis.md", "--channels", "x", "--json")
    assert result.code == 0, result.err
    [post] = json.loads(result.out)["variants"][0]["parts"]
    assert post == ("RAKOR HUMAS PEMASYARAKATAN — #HumasBergerakBersama #Pemasyarakatan "
                    "a/2024      7 3")


@given(st.text(max_size=20), st.integers(min_value=0, max_value=10**12))
def test_repetition_is_refused_exactly_when_it_would_pass_the_limit(text: str,
                                                                     times: int) -> None:
    too_big = len(text) * times > template_limits.MAX_OUTPUT
    try:
        template_limits.check_binop("*", text, times)
    except template_limits.LimitReached:
        assert too_big
    else:
        assert not too_big


@given(st.lists(st.text(max_size=3), max_size=10_000))
def test_a_streamed_render_is_the_chunks_joined(chunks: list[str]) -> None:
    assert template_limits.collect(iter(chunks)) == "".join(chunks)


def test_many_tiny_chunks_are_joined_in_order() -> None:
    chunks = [str(n % 10) for n in range(10_000)]
    assert template_limits.collect(iter(chunks)) == "".join(chunks)
