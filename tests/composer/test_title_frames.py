"""A post made from the frame around its title reads as the post made the usual way.

A content calendar's releases differ in title and body; the post block is rendered once
with a stand-in where the title goes, and each release's title is joined in
(``templating.spliced_titled``). Whatever the template, the context and the title, that
gives what ``templating.spliced`` gives, or leaves the release to it; and whatever the
release and the account, composing with it gives the variants (or the error) of
composing without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from scheduler.compose import compose, compose_all
from scheduler.errors import SiarError
from scheduler.settings import AccountSettings
from scheduler.text import templating
from tests.composer import strategies
from tests.composer.conftest import (
    LINKS,
    NETWORKS,
    composed_or_error,
    make_release,
    make_settings,
    write_templates,
)
from tests.composer.test_template_slots import _CONTEXT, _TEMPLATE

_TITLES = st.one_of(strategies.title, st.sampled_from([
    "", " ", "Judul\n\nbaris", "<b>&amp;</b>", "*tebal* _miring_", "{{ title }}",
    "\x00siar-body\x00", "Judul \n", "\t", "“Kalapas: Kami Siap”"]))


# templates that print the title as it is, among other things (most of _TEMPLATE's do more)
_PRINTING = st.builds(
    lambda parts: "{% block post %}" + "".join(parts) + "\n{{ body }}{% endblock %}",
    st.lists(st.sampled_from([
        "{{ title }}", "{{ link }}", "{{ summary }}", "\n", "\n\n", " — ", "  \n", "\t",
        "{% if link %}Selengkapnya: {{ link }}{% endif %}",
        "{% for tag in hashtags %}{{ tag }} {{ title }}{% endfor %}",
        "{% for i in range(2) %}{{ title }}{% endfor %}", "{{ mention('ditjenpas') }}",
        "{{ (mentions + hashtags) | join(' ') }}", "{% if summary %}{{ title }}{% endif %}",
        "{{ body }}", "{{ title|upper }}"]), min_size=1, max_size=5))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("title-frames")


def _load(folder: Path, source: str) -> templating.Template:
    name = hashlib.sha256(source.encode()).hexdigest()[:16] + ".j2"
    (folder / name).write_text(source)
    return templating.load((str(folder),), name)


def _spliced(render: Callable[[], Any]) -> Any:
    try:
        renderer = render()
    except SiarError as exc:
        return type(exc), str(exc)
    return renderer and (renderer.before, renderer.after, renderer.telegram, renderer.render)


@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.one_of(_TEMPLATE, _PRINTING), context=_CONTEXT, title=_TITLES,
       telegram=st.booleans())
def test_a_post_from_the_frame_around_its_title_reads_as_the_post_spliced_anew(
        folder: Path, source: str, context: dict, title: str, telegram: bool) -> None:
    from scheduler.text.mentions import MentionFunction

    try:
        template = _load(folder, source)
    except SiarError:
        reject()
    context = {**context, "mention": MentionFunction.of("x", "plain", {})}
    context.pop("body")
    untitled = tuple((k, v) for k, v in context.items() if k != "title")
    fast = templating.spliced_titled(templating.title_frame(template, dict(untitled)), title,
                                     telegram)
    event("from the frame" if fast is not None else "the usual way")
    if fast is not None:
        assert _spliced(lambda: fast) == _spliced(lambda: templating.spliced(
            template, (*untitled, ("title", title)), telegram))


def test_the_built_in_templates_are_made_from_their_frames() -> None:
    """The point of it: the networks' own post blocks print the title as it is."""
    search = (str(templating.templates_dir()),)
    for name in ("mastodon.j2", "bluesky.j2", "telegram.j2", "webhook.j2", "x.j2"):
        template = templating.load(search, name)
        frame = templating.title_frame(template, {"link": "", "summary": "", "hashtags": (),
                                                  "mentions": ()})
        assert templating.spliced_titled(frame, "Judul", False) is not None, name


# --- whole compositions --------------------------------------------------------------------

_TEMPLATES = {
    "upper.j2": "{% block post %}{{ title|upper }}\n\n{{ body }}{% endblock %}",
    "twice.j2": "{% block post %}{{ title }}\n{{ body }}\n— {{ title }} {{ link }}"
                "{% endblock %}",
    "no-title.j2": "{% block post %}{{ body }}\n{{ hashtags | join(' ') }}{% endblock %}",
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_templates(tmp_path_factory.mktemp("templates"), _TEMPLATES)




_account = st.fixed_dictionaries({
    "network": st.sampled_from(NETWORKS),
    "limit": st.sampled_from([None, None, 60, 120, 500]),
    "long_text": st.sampled_from(["thread", "truncate"]),
    "template": st.sampled_from([None, None, None, "upper.j2", "twice.j2", "no-title.j2"]),
})

_release = st.fixed_dictionaries(
    {"body": strategies.body, "title": st.one_of(strategies.title, st.sampled_from(
        ["<b>&amp;</b>", "*tebal* _miring_ [x](y)", "Kalapas: “Kami Siap”", "#Lapas @ditjenpas",
         " ".join(["Judul panjang sekali"] * 12)]))},
    optional=strategies.release_extras(LINKS))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(release=_release, accounts=st.lists(_account, min_size=1, max_size=6))
def test_composing_from_title_frames_gives_what_composing_without_them_gives(
        templates: Path, monkeypatch: pytest.MonkeyPatch, release: dict,
        accounts: list[dict]) -> None:
    doc = make_release(release.pop("body"), **release)
    chosen = [AccountSettings(name=f"akun-{i}", **a) for i, a in enumerate(accounts)]
    deployment = make_settings(accounts=chosen, templates_dir=templates)
    fast = composed_or_error(lambda: compose_all(doc, chosen, deployment))
    with monkeypatch.context() as patched:
        patched.setattr(templating, "spliced_titled", lambda *args: None)
        usual = composed_or_error(lambda: [compose(doc, account, deployment) for account in chosen])
    assert fast == usual
