"""A release's front matter read without the pydantic model gives exactly what the model
gives, and leaves to the model everything it would refuse (which then says why)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scheduler import release_keys

# texts like those written in releases, with the characters the checks look at
_TEXT = st.one_of(
    st.sampled_from(["Rakor", "", " ", "#Pemasyarakatan", "Humas_Lapas", "2024", "_1_",
                     "a,b c", "#", "website", "wordpress-lapas", " x-lapas ", "besok 09.00",
                     "https://lapas.example.go.id/berita", "http://x", "ftp://lapas.go.id",
                     "https://lapas.go.id/a b", "Kalapas: Kami Siap", "ÉTÉ", "akun lapas"]),
    st.text(alphabet="ab_#,. :/1-", max_size=12))
_VALUE = st.one_of(_TEXT, st.none(), st.integers(), st.booleans(), st.floats(),
                   st.datetimes(), st.lists(_TEXT, max_size=3),
                   st.lists(st.one_of(_TEXT, st.integers(), st.none()), max_size=3),
                   st.dictionaries(_TEXT, _TEXT, max_size=2), st.just([]),
                   st.just([{"path": "foto.jpg"}]), st.just(["foto.jpg"]),
                   st.lists(st.one_of(_TEXT, st.none(), st.integers(), st.dictionaries(
                       st.sampled_from(["path", "alt", "focus", "background", "size"]),
                       st.one_of(_TEXT, st.none(), st.integers()), max_size=4)), max_size=3))
_KEYS = st.one_of(st.sampled_from(release_keys.KEYS), st.sampled_from(["tittle", "tags"]))


def _values(front: Any) -> dict[str, Any]:
    """The front matter's values; a photo written as a mapping by its attributes and kind
    (the plain checks' ``Photo`` is the model's ``_ImageSpec``)."""
    values = {key: getattr(front, key) for key in release_keys.KEYS}
    values["images"] = [photo if isinstance(photo, str) else
                        ("mapping", photo.path, photo.alt, photo.focus, photo.background)
                        for photo in values["images"]]
    return values


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _VALUE, max_size=6))
def test_the_plain_checks_agree_with_the_model(meta: dict[str, Any]) -> None:
    plain = release_keys._plain(meta)
    try:
        model = release_keys.model().model_validate(meta)
    except ValidationError:
        assert plain is None  # the model says what is wrong
        return
    if plain is not None:  # taken without the model: exactly what the model gives
        assert _values(plain) == _values(model)
        assert [type(v) for v in _values(plain).values()] == \
            [type(v) for v in _values(model).values()]


def test_the_usual_front_matter_needs_no_model() -> None:
    front = release_keys.front_matter({
        "title": "Rakor", "at": "besok 09.00", "channels": "x-lapas",
        "hashtags": "#HumasBergerakBersama, Pemasyarakatan", "link": " website ",
        "mentions": ["ditjenpas"], "summary": "Ringkas.", "language": "id", "images": []})
    assert isinstance(front, release_keys.Front)
    assert (front.channels, front.hashtags, front.link) == (
        ["x-lapas"], ["HumasBergerakBersama", "Pemasyarakatan"], "website")


def test_photos_with_their_alt_text_need_no_model() -> None:
    front = release_keys.front_matter({"title": "Rakor", "images": [
        "foto-1.jpg", {"path": "foto-2.jpg", "alt": "Peserta rakor", "focus": "top"}]})
    assert isinstance(front, release_keys.Front)
    assert front.images == ["foto-1.jpg", release_keys.Photo(
        path="foto-2.jpg", alt="Peserta rakor", focus="top")]
