"""compose(): one release becomes a correct variant for each network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scheduler.compose import compose, compose_all
from scheduler.errors import ComposeError
from scheduler.settings import AccountSettings
from scheduler.text.counting import rules_for
from tests.composer.conftest import CAMPAIGN, NETWORKS, make_release, make_settings

LINK = "https://lapaspangkalpinang.kemenkumham.go.id/berita/rakor"


def _account(network: str, **options) -> AccountSettings:
    return AccountSettings(name=f"{network}-lapas", network=network, **options)


def _one(network: str, body: str = "Rakor berlangsung di Jakarta.", settings=None, **front):
    front.setdefault("link", LINK)
    return compose(make_release(body, **front), _account(network), settings or make_settings())


def test_campaign_hashtags_are_merged_with_the_release_tags() -> None:
    variant = _one("mastodon", hashtags=["Pemasyarakatan", "humasbergerakbersama"])
    assert f"#{CAMPAIGN} #Pemasyarakatan" in variant.parts[0]
    assert variant.parts[0].count("#HumasBergerakBersama") == 1


def test_a_tag_already_in_the_text_is_not_repeated_when_the_text_goes_whole() -> None:
    variant = _one("mastodon", body="Rakor #HumasBergerakBersama di Jakarta.")
    assert variant.parts[0].count("#HumasBergerakBersama") == 1


def test_telegram_gets_escaped_html_with_a_bold_title_and_link() -> None:
    variant = _one("telegram", body="Tarif <gratis> & **cepat**, lihat [situs](https://a.go.id).",
                   title="Rilis <Humas> & Lapas")
    text = variant.parts[0]
    assert text.startswith("<b>Rilis &lt;Humas&gt; &amp; Lapas</b>")
    assert "Tarif &lt;gratis&gt; &amp; <b>cepat</b>" in text
    assert '<a href="https://a.go.id">situs</a>' in text and f'<a href="{LINK}">' in text
    assert set(re.findall(r"</?([a-z-]+)", text)) <= {"b", "i", "u", "s", "a", "code", "pre",
                                                       "blockquote", "tg-spoiler"}
    assert variant.extra["parse_mode"] == "HTML"


def test_markdown_becomes_plain_text_with_bullets_for_short_networks() -> None:
    variant = _one("x", body="Agenda:\n\n- **Rakor** humas\n- _Pelatihan_\n\nSelesai.")
    assert "• Rakor humas\n• Pelatihan" in variant.parts[0]
    body = variant.parts[0].split(LINK)[0]
    assert "*" not in body and "_" not in body


def test_linkedin_reserved_characters_are_escaped_and_tags_use_its_syntax() -> None:
    variant = _one("linkedin", body="Kegiatan (rakor) [resmi] <b> a_b *c* ~d~ @e #f | {g}",
                   mentions=["ditjenpas"])
    text = variant.parts[0]
    assert r"Kegiatan \(rakor\) \[resmi\] \<b\> a\_b" in text
    assert "#HumasBergerakBersama" in text and r"\#f" in text
    assert "@[Ditjen Pemasyarakatan](urn:li:organization:42)" in text
    body_line = text.split("\n\n")[1]
    assert re.search(r"(?<!\\)[|{}@\[\]()<>#*_~]", body_line) is None


def test_wordpress_gets_title_html_excerpt_and_slug() -> None:
    variant = _one("wordpress", body="Paragraf **satu**.\n\nParagraf dua.",
                   title="Lapas Pangkalpinang: Rakor Humas 2024!", summary="Ringkasan.")
    assert variant.extra["title"] == "Lapas Pangkalpinang: Rakor Humas 2024!"
    assert "<p>Paragraf <strong>satu</strong>.</p>" in variant.extra["html"]
    assert variant.extra["excerpt"] == "Ringkasan."
    assert variant.extra["slug"] == "lapas-pangkalpinang-rakor-humas-2024"
    assert variant.extra["tags"] == ["HumasBergerakBersama"]
    assert variant.limit is None


def test_email_gets_subject_text_and_html() -> None:
    variant = _one("email", body="Isi **rilis**.", title="Rilis & Kabar")
    assert variant.extra["subject"] == "Rilis & Kabar"
    assert variant.extra["text"] == variant.parts[0] and "Isi rilis." in variant.parts[0]
    assert "<h1" in variant.extra["html"] and "Rilis &amp; Kabar" in variant.extra["html"]
    assert "<strong>rilis</strong>" in variant.extra["html"]


def test_slack_gets_mrkdwn_with_escaped_text_and_a_labelled_link() -> None:
    variant = _one("slack", body="A & B **tebal** <x>")
    assert "A &amp; B *tebal* &lt;x&gt;" in variant.parts[0]
    assert f"<{LINK}|Baca selengkapnya>" in variant.parts[0]


def test_discord_gets_markdown() -> None:
    variant = _one("discord", body="**Tebal** dan [situs](https://a.go.id)")
    assert "**Tebal** dan [situs](https://a.go.id)" in variant.parts[0]


def test_discord_escapes_markdown_characters_but_not_urls() -> None:
    variant = _one("discord", body="a_b *c* https://a.go.id/x_y_z")
    assert r"a\_b" in variant.parts[0] and "https://a.go.id/x_y_z" in variant.parts[0]


def test_wrapped_markdown_lines_join_but_one_paragraph_per_line_stays() -> None:
    wrapped = _one("mastodon", body="Kepala Lapas hadir dalam\nrapat koordinasi nasional.")
    assert "hadir dalam rapat koordinasi" in wrapped.parts[0]
    pasted = _one("mastodon", body="Kalimat pertama.\n“Kutipan,” ujar Kalapas.\nPenutup.")
    assert "Kalimat pertama.\n“Kutipan,” ujar Kalapas.\nPenutup." in pasted.parts[0]


def test_a_quoted_blockquote_is_not_quoted_twice_in_plain_text() -> None:
    variant = _one("facebook", body='> "Publik berhak tahu," kata Kalapas.\n\n> Tanpa kutip.')
    assert '\n"Publik berhak tahu," kata Kalapas.\n' in variant.parts[0]
    assert "“Tanpa kutip.”" in variant.parts[0]


def test_threads_gets_one_topic_tag_and_no_hashtags_in_text() -> None:
    variant = _one("threads", hashtags=["Pemasyarakatan"])
    assert variant.extra["topic_tag"] == CAMPAIGN
    assert "#" not in variant.parts[0]


def test_instagram_keeps_at_most_30_hashtags_campaign_first() -> None:
    variant = _one("instagram", hashtags=[f"Tag{n}a" for n in range(40)])
    assert len(re.findall(r"#\w+", variant.parts[0])) == 30
    assert f"#{CAMPAIGN}" in variant.parts[0]
    assert any("left out" in w for w in variant.warnings)


def test_mentions_use_each_networks_handle_or_the_plain_name() -> None:
    release = make_release("Isi.", link=LINK, mentions=["ditjenpas", "unknown_org"])
    settings = make_settings()
    by_network = {v.channel: v.parts[0] for v in compose_all(release, settings.accounts,
                                                              settings)}
    assert "@ditjenpas" in by_network["x"] and "unknown_org" in by_network["x"]
    assert "@ditjenpas.bsky.social" in by_network["bluesky"]
    assert "Ditjen Pemasyarakatan" in by_network["facebook"]


def test_mastodon_gets_the_release_language() -> None:
    assert _one("mastodon", language="en").extra["language"] == "en"


def test_utm_parameters_are_added_per_network() -> None:
    assert _one("x").link == LINK + "?utm_source=x&utm_medium=social"
    assert _one("mastodon").link == LINK


def test_bluesky_variant_has_facets_per_part_and_a_link_card() -> None:
    variant = _one("bluesky", summary="Ringkasan rakor.", mentions=["ditjenpas"])
    assert len(variant.extra["facets"]) == len(variant.parts)
    kinds = {f["features"][0]["$type"].rsplit("#", 1)[1] for f in variant.extra["facets"][0]}
    assert kinds == {"link", "tag", "mention"}
    assert variant.extra["card"] == {"uri": LINK, "title": "Lapas Pangkalpinang Ikuti Rakor Humas",
                                     "description": "Ringkasan rakor."}
    assert set(variant.to_json()) >= {"account", "channel", "parts", "length", "limit",
                                      "warnings", "facets"}


def test_long_text_becomes_a_numbered_thread_keeping_title_link_and_tags_first() -> None:
    body = " ".join(f"Kalimat nomor {n} tentang kegiatan humas lapas." for n in range(40))
    variant = _one("x", body=body)
    assert len(variant.parts) > 1 and all(n <= 280 for n in variant.length)
    first = variant.parts[0]
    assert first.startswith("Lapas Pangkalpinang Ikuti Rakor Humas") and LINK in first
    assert f"#{CAMPAIGN}" in first and variant.parts[-1].endswith(f"/{len(variant.parts)})")


def test_the_example_release_threads_open_with_the_summary_and_cut_no_sentence() -> None:
    from scheduler.releases import load

    release = load(Path(__file__).resolve().parents[2] / "config" / "example-release.md")
    for network in ("x", "bluesky", "mastodon", "threads"):
        variant = compose(release, _account(network), make_settings())
        assert len(variant.parts) > 1, network
        assert not any("…" in part for part in variant.parts), network
    x = compose(release, _account("x"), make_settings())
    assert release.summary and release.summary in x.parts[0]
    assert x.parts[1].startswith("Jakarta — Kepala Lapas")


def test_truncate_mode_makes_one_post_with_ellipsis_and_link() -> None:
    body = " ".join(f"Kalimat nomor {n} tentang kegiatan humas lapas." for n in range(40))
    account = _account("mastodon", long_text="truncate")
    variant = compose(make_release(body, link=LINK), account, make_settings())
    assert len(variant.parts) == 1 and variant.length[0] <= 500
    assert "…" in variant.parts[0] and LINK in variant.parts[0]


def test_account_limit_overrides_the_network_limit() -> None:
    body = " ".join(f"Kalimat nomor {n} tentang kegiatan humas lapas." for n in range(40))
    account = _account("mastodon", limit=1000)
    variant = compose(make_release(body, link=LINK), account, make_settings())
    assert variant.limit == 1000 and max(variant.length) > 500


def test_required_parts_that_cannot_fit_raise_a_compose_error_naming_account_and_fix() -> None:
    tags = [f"{CAMPAIGN}{n}" for n in range(14)]
    with pytest.raises(ComposeError) as error:
        _one("x", settings=make_settings(campaign_hashtags=tags))
    message = str(error.value)
    assert "'x-lapas'" in message and "280" in message and "fix:" in message


def test_a_deployment_template_overrides_the_built_in(tmp_path: Path) -> None:
    (tmp_path / "x.j2").write_text("{% block post %}KHUSUS {{ title }} {{ link }}"
                                   "{% endblock %}")
    variant = _one("x", settings=make_settings(templates_dir=tmp_path))
    assert variant.parts[0].startswith("KHUSUS Lapas")


def test_an_account_template_overrides_the_network_template(tmp_path: Path) -> None:
    own = tmp_path / "lapas-x.j2"
    own.write_text("{% block post %}AKUN {{ title }}{% endblock %}")
    account = _account("x", template=str(own))
    assert compose(make_release("Isi."), account, make_settings()).parts[0] == (
        "AKUN Lapas Pangkalpinang Ikuti Rakor Humas")


def test_templates_use_strict_undefined(tmp_path: Path) -> None:
    (tmp_path / "x.j2").write_text("{% block post %}{{ nonexistent }}{% endblock %}")
    with pytest.raises(ComposeError, match="nonexistent"):
        _one("x", settings=make_settings(templates_dir=tmp_path))


def test_templates_run_in_a_sandbox(tmp_path: Path) -> None:
    (tmp_path / "x.j2").write_text(
        "{% block post %}{{ title.__class__.__mro__[1].__subclasses__() }}{% endblock %}")
    with pytest.raises(ComposeError):
        _one("x", settings=make_settings(templates_dir=tmp_path))


def test_alt_text_is_kept_and_missing_alt_text_is_warned(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "b.png").write_bytes(b"\x89PNG")
    release = make_release("Isi.", base_dir=tmp_path, link=LINK,
                           images=[{"path": "a.jpg", "alt": "Kalapas memberi sambutan"},
                                   "b.png"])
    variant = compose(release, _account("bluesky"), make_settings())
    assert [m.alt for m in variant.media] == ["Kalapas memberi sambutan", ""]
    assert variant.media[0].mime == "image/jpeg"
    assert any("b.png has no alt text" in w for w in variant.warnings)


def test_the_big_release_yields_valid_variants_for_every_network(big_release) -> None:
    settings = make_settings()
    variants = compose_all(big_release, settings.accounts, settings)
    assert [v.channel for v in variants] == NETWORKS
    for variant in variants:
        rules = rules_for(variant.channel)
        for part, length in zip(variant.parts, variant.length, strict=True):
            assert length == rules.measure(part)
            assert rules.fits(part, variant.limit), (variant.channel, length)
        assert "Lapas Pangkalpinang Ikuti Rakor Humas" in variant.parts[0]
        if variant.channel not in ("threads", "wordpress"):
            assert CAMPAIGN in variant.parts[0]
        if variant.channel not in ("wordpress",):
            assert variant.link and variant.link.split("?")[0] in variant.parts[0].replace(
                "\\", "")
        json.dumps(variant.to_json())


def test_composing_is_deterministic(big_release) -> None:
    settings = make_settings()
    first = [v.to_json() for v in compose_all(big_release, settings.accounts, settings)]
    second = [v.to_json() for v in compose_all(big_release, settings.accounts, settings)]
    assert first == second


def test_a_telegram_cut_inside_bold_text_closes_the_tag() -> None:
    body = "**" + " ".join(f"Kalimat tebal nomor {n} yang panjang." for n in range(300)) + "**"
    variant = _one("telegram", body=body)
    text = variant.parts[0]
    assert variant.length[0] <= 4096 and "…" in text
    assert text.count("<b>") == text.count("</b>")


def test_a_word_longer_than_a_post_raises_a_compose_error_naming_it() -> None:
    with pytest.raises(ComposeError, match="longer than one post"):
        _one("bluesky", body="Awal. " + "x" * 400 + " akhir.")


def test_changed_settings_are_never_served_from_remembered_results(tmp_path: Path) -> None:
    release = make_release("Isi rilis.", link=LINK)
    account = _account("x")
    plain = compose(release, account, make_settings(utm={}))
    tagged = compose(release, account, make_settings(utm={"x": {"utm_source": "siar"}}))
    assert LINK + "?utm_source=siar" in tagged.parts[0] and "utm_" not in plain.parts[0]
    (tmp_path / "x.j2").write_text("{% block post %}LAIN {{ title }}{% endblock %}")
    other = compose(release, account, make_settings(templates_dir=tmp_path))
    assert other.parts[0].startswith("LAIN ")


def test_composing_twice_gives_equal_but_independent_variants(big_release) -> None:
    settings = make_settings()
    first = compose(big_release, _account("bluesky"), settings)
    first.parts.append("diubah")
    first.extra["facets"][0].clear()
    second = compose(big_release, _account("bluesky"), settings)
    assert second.parts[-1] != "diubah" and second.extra["facets"][0]


def test_too_long_alt_text_is_cut_at_a_word_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")
    alt = "Kalapas memberi sambutan di depan peserta rakor. " * 30
    release = make_release("Isi.", base_dir=tmp_path, link=LINK,
                           images=[{"path": "a.jpg", "alt": alt}])
    [media] = compose(release, _account("x"), make_settings()).media
    assert len(media.alt) <= 1000 and media.alt.endswith("…")
    assert alt.startswith(media.alt.removesuffix("…").rstrip())


def test_a_template_can_name_an_organisation_with_mention(tmp_path: Path) -> None:
    (tmp_path / "bluesky.j2").write_text(
        '{% block post %}{{ title }} bersama {{ mention("ditjenpas") }} dan '
        '{{ mention("lain") }}{% endblock %}')
    variant = _one("bluesky", settings=make_settings(templates_dir=tmp_path))
    assert variant.parts[0].endswith("bersama @ditjenpas.bsky.social dan lain")
    [facet] = variant.extra["facets"][0]
    assert facet["features"][0]["did"] == "did:plc:ditjenpas123"


def test_mention_names_are_escaped_for_the_networks_format() -> None:
    settings = make_settings(mentions={"kanwil": {"name": "Kanwil <Babel> & Humas"}})
    variant = _one("telegram", settings=settings, mentions=["kanwil"])
    assert "Kanwil &lt;Babel&gt; &amp; Humas" in variant.parts[0]


def test_a_release_without_link_leaves_no_empty_link_behind() -> None:
    release = make_release("Isi rilis singkat.")
    settings = make_settings()
    for variant in compose_all(release, settings.accounts, settings):
        text = variant.parts[0]
        assert variant.link is None and "None" not in text and "\n\n\n" not in text
        assert "href" not in text and "<|" not in text and "Selengkapnya:" not in text


def test_images_beyond_what_a_network_takes_are_left_out_with_a_warning(tmp_path: Path) -> None:
    for n in range(6):
        (tmp_path / f"{n}.jpg").write_bytes(b"\xff\xd8\xff")
    release = make_release("Isi.", base_dir=tmp_path, link=LINK,
                           images=[{"path": f"{n}.jpg", "alt": f"Foto {n}"} for n in range(6)])
    x = compose(release, _account("x"), make_settings())
    telegram = compose(release, _account("telegram"), make_settings())
    assert [m.alt for m in x.media] == [f"Foto {n}" for n in range(4)]
    assert any("takes 4 images" in w for w in x.warnings)
    assert len(telegram.media) == 6
