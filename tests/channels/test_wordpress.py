"""WordPress adapter against a strict fake of the REST API."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.variant import Media
from channels.wordpress import MediaUploadError, WordPressChannel, slugify
from scheduler.compose import compose
from scheduler.settings import AccountSettings
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.composer.conftest import make_release, make_settings
from tests.fakes import wordpress_text as wp_text
from tests.fakes.server import Fault
from tests.fakes.wordpress import WordPressFake

PASSWORD = "abcd EFGH 1234 ijkl"
SECRETS = {"username": "humas", "app_password": PASSWORD}
BODY = ("Kalapas Hidayat bersama Humas Lapas mengikuti Rakor.\n\n"
        "Rakor berlangsung di Jakarta. #HumasBergerakBersama")


@pytest.fixture(scope="module")
def server() -> Iterator[WordPressFake]:
    with WordPressFake(username="humas", app_password=PASSWORD) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: WordPressFake) -> WordPressFake:
    server.reset()
    return server


def channel_for(url: str, secrets: dict[str, str] = SECRETS, **options: object):
    account = AccountConfig(name="web-lapas", network="wordpress", base_url=url,
                            options={"read_timeout": 0.5, **options})
    return WordPressChannel(account, secrets)


@pytest.fixture
def channel(fake: WordPressFake) -> Iterator[WordPressChannel]:
    adapter = channel_for(fake.url)
    yield adapter
    adapter.close()


def release(text: str = BODY, **kw: object):
    kw.setdefault("title", "Lapas Pangkalpinang Ikuti Rakor Agen Informasi")
    kw.setdefault("due_at", datetime.now(UTC))  # posts dated before it are not this one
    return make_delivery(text, channel="wordpress", **kw)


# --- publishing ------------------------------------------------------------------------


def test_a_post_is_created_with_basic_auth_and_the_rest_fields(fake, channel):
    delivery = release()

    outcome = channel.publish(delivery)

    [create] = fake.calls("POST", "/wp-json/wp/v2/posts")
    expected_auth = base64.b64encode(b"humas:abcdEFGH1234ijkl").decode()
    assert create.header("Authorization") == f"Basic {expected_auth}"
    fields = create.json()
    [tag_id] = fake.terms["tags"]
    assert fields == {
        "title": "Lapas Pangkalpinang Ikuti Rakor Agen Informasi",
        "content": "<p>Kalapas Hidayat bersama Humas Lapas mengikuti Rakor.</p>\n"
                   "<p>Rakor berlangsung di Jakarta. #HumasBergerakBersama</p>",
        "status": "publish", "slug": channel.slug(delivery), "tags": [tag_id],
        "categories": []}
    [post] = fake.posts
    assert outcome == Published(str(post.id), fake.post_link(post))
    assert delivery.reported["parts"][0].extra == {"slug": post.slug}


def test_title_html_excerpt_and_slug_from_the_composer_win(fake, channel):
    channel.publish(release(title="Judul rilis", html="<p>Isi <b>lengkap</b></p>",
                            excerpt="Ringkasan", slug="rakor-agen-informasi-2026"))

    [post] = fake.posts
    assert (post.title, post.content, post.excerpt) == (
        "Judul rilis", "<p>Isi <b>lengkap</b></p>", "Ringkasan")
    assert re.fullmatch(r"rakor-agen-informasi-2026-[0-9a-f]{8}", post.slug)


def test_the_derived_slug_is_stable_per_publish_key_and_differs_between_posts(channel):
    a = channel.slug(release(publish_key="pk-1"))
    assert a == channel.slug(release(publish_key="pk-1"))
    assert a != channel.slug(release(publish_key="pk-2"))
    assert a.startswith("lapas-pangkalpinang-ikuti-rakor-agen-informasi-")


@given(st.text(max_size=120))
def test_slugify_always_gives_a_url_safe_slug(text):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|", slugify(text))


def test_existing_tags_are_looked_up_by_slug_and_new_ones_created(fake, channel):
    existing = fake.add_term("tags", "HumasBergerakBersama")

    channel.publish(release(tags=["HumasBergerakBersama", "Pemasyarakatan"]))

    assert [c.query["slug"] for c in fake.calls("GET", ".*/tags")] == [
        ["humasbergerakbersama"], ["pemasyarakatan"]]
    [created] = fake.calls("POST", ".*/tags")
    assert created.json() == {"name": "Pemasyarakatan"}
    assert fake.posts[0].tags == [existing, max(fake.terms["tags"])]


def test_a_tag_that_exists_under_another_slug_is_taken_from_term_exists(fake, channel):
    existing = fake.add_term("tags", "Humas Bergerak")
    fake.fail_next(Fault(status=200, body=[], path=".*/tags"))  # the slug lookup misses

    channel.publish(release(tags=["humas bergerak"]))

    assert fake.posts[0].tags == [existing]


def test_categories_come_from_the_account_by_id_or_name(fake):
    berita = 1
    adapter = channel_for(fake.url, categories=[berita, "Kegiatan"])
    adapter.publish(release())

    assert fake.posts[0].categories == [berita, max(fake.terms["categories"])]


def test_images_are_uploaded_with_alt_text_and_the_first_is_featured(
        fake, channel, photo_jpeg, png_with_alpha):
    media = [Media(path=str(photo_jpeg), alt="Kalapas membuka rakor"),
             Media(path=str(png_with_alpha), alt="Logo Pemasyarakatan")]
    delivery = release(media=media)

    channel.publish(delivery)

    upload = fake.calls("POST", "/wp-json/wp/v2/media")[0]
    assert upload.header("Content-Disposition") == 'attachment; filename="kegiatan.jpg"'
    assert upload.header("Content-Type") == "image/jpeg"
    first, second = fake.media.values()
    assert (first.alt_text, second.alt_text) == ("Kalapas membuka rakor",
                                                 "Logo Pemasyarakatan")
    [post] = fake.posts
    assert post.featured_media == first.id
    assert 'alt="Logo Pemasyarakatan"' in post.content and second.filename in post.content
    assert [m["id"] for m in delivery.state["media"]] == [first.id, second.id]


def test_upload_media_gives_a_public_url_that_serves_the_prepared_image(
        fake, channel, png_with_alpha):
    url = channel.upload_media(str(png_with_alpha), "Logo", prepare_for="instagram")

    served = requests.get(url, timeout=2)
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).format == "JPEG"
    assert next(iter(fake.media.values())).alt_text == "Logo"


def test_upload_media_raises_a_clear_error_when_the_site_refuses(fake, channel, photo_jpeg):
    fake.strips_authorization = True
    with pytest.raises(MediaUploadError, match=r"kegiatan\.jpg"):
        channel.upload_media(str(photo_jpeg), "alt")


def test_a_post_already_published_by_an_earlier_attempt_is_not_sent_again(fake, channel):
    first = release()
    channel.publish(first)
    assert isinstance(channel.publish(release(progress=first.progress)), Published)
    assert len(fake.posts) == 1


def test_a_retry_after_a_create_in_doubt_finds_the_post_instead_of_duplicating_it(
        fake, channel):
    delivery = release()
    fake.fail_next(Fault(apply=True, drop=True, path=".*/posts"))
    assert isinstance(channel.publish(delivery), InDoubt)

    retry = release(state=delivery.state)
    outcome = channel.publish(retry)

    [post] = fake.posts
    assert outcome == Published(str(post.id), fake.post_link(post))


# --- a post is this post: never another release's with the same title ------------------


def same_title(publish_key: str, **kw: object):
    """A release as the composer makes it (the slug is the title's alone), without tags:
    the create is its first request that needs the credentials."""
    return release(title="Jadwal Kunjungan", slug="jadwal-kunjungan", tags=[],
                   publish_key=publish_key, **kw)


def test_a_release_refused_401_then_fixed_is_created_as_its_own_post_not_as_an_earlier_one(
        fake, channel):
    earlier = channel.publish(same_title("pk-senin"))
    wrong = channel_for(fake.url, {"username": "humas", "app_password": "salah sandi"})
    refused = same_title("pk-selasa")
    assert isinstance(wrong.publish(refused), AuthFailed)

    fixed = channel.publish(same_title("pk-selasa", state=refused.state))

    first, second = fake.posts
    assert earlier == Published(str(first.id), fake.post_link(first))
    assert fixed == Published(str(second.id), fake.post_link(second))
    assert first.slug != second.slug


def test_a_definite_refusal_of_the_create_clears_the_create_sent_mark(fake):
    wrong = channel_for(fake.url, {"username": "humas", "app_password": "salah sandi"})
    delivery = release(tags=[])
    assert isinstance(wrong.publish(delivery), AuthFailed)
    assert delivery.state["create_sent"] is False
    assert delivery.reported["checkpoints"][-1]["create_sent"] is False


def test_a_create_in_doubt_that_never_reached_the_site_is_sent_again_as_its_own_post(
        fake, channel):
    channel.publish(same_title("pk-senin"))
    delivery = same_title("pk-selasa")
    fake.fail_next(status=502, body="Bad Gateway", path=".*/posts")
    assert isinstance(channel.publish(delivery), InDoubt)

    retried = channel.publish(same_title("pk-selasa", state=delivery.state))

    _, second = fake.posts
    assert retried == Published(str(second.id), fake.post_link(second))


def test_a_create_by_an_earlier_siar_without_the_marker_is_left_to_staff(fake, channel):
    fake.add_post("jadwal-kunjungan", created=time.time(), title="Jadwal Kunjungan")
    delivery = same_title("pk-selasa", state={"create_sent": True})

    assert isinstance(channel.publish(delivery), InDoubt)
    assert channel.probe(delivery) is None
    assert fake.calls("POST", ".*/posts") == [] and len(fake.posts) == 1


def test_the_fake_sanitises_slugs_and_suffixes_taken_ones_like_wordpress(fake):
    def create(**fields: str) -> None:
        answer = requests.post(f"{fake.url}/wp-json/wp/v2/posts", auth=("humas", PASSWORD),
                               json=fields, timeout=2)
        assert answer.status_code == 201

    create(title="Jadwal Kunjungan: Lapas!", status="publish")
    create(title="Jadwal Kunjungan: Lapas!", status="publish")
    create(title="Lain", slug="Jadwal Kunjungan: Lapas!", status="draft")  # drafts keep it

    assert [p.slug for p in fake.posts] == [
        "jadwal-kunjungan-lapas", "jadwal-kunjungan-lapas-2", "jadwal-kunjungan-lapas"]


@given(st.text(max_size=120))
def test_the_slug_sent_is_the_slug_wordpress_stores(title):
    adapter = WordPressChannel(AccountConfig(name="w", network="wordpress"), {})
    slug = adapter.slug(release(title=title or "x", slug=slugify(title)))
    assert wp_text.sanitize_title(slug) == slug
    assert len(slug) <= wp_text.SLUG_MAX


# --- text is shown as written ----------------------------------------------------------


class _Shown(HTMLParser):
    """What a browser shows of a page: the text of ``<title>`` and ``<h1>``, img alts."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: dict[str, str] = {"title": "", "h1": ""}
        self.alts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        if tag == "img":
            self.alts.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        for tag in self.text:
            if tag in self.open:
                self.text[tag] += data


TITLE = "Jam Layanan <Online> & Tatap Muka"
ALT = "Denah <Ruang Tunggu> & loket 100%AB"


@pytest.mark.parametrize("unfiltered_html", [False, True], ids=["author", "administrator"])
def test_a_title_and_alt_text_with_markup_characters_show_as_written(
        fake, channel, photo_jpeg, unfiltered_html):
    fake.unfiltered_html = unfiltered_html
    doc = make_release("Layanan kunjungan dibuka.", base_dir=photo_jpeg.parent, title=TITLE,
                       images=[{"path": photo_jpeg.name, "alt": ALT}])
    variant = compose(doc, AccountSettings(name="web-lapas", network="wordpress"),
                      make_settings())

    outcome = channel.publish(make_delivery(variant, due_at=datetime.now(UTC)))

    assert isinstance(outcome, Published)
    page = _Shown(requests.get(str(outcome.url), timeout=2).text)
    assert page.text["h1"] == TITLE
    assert page.text["title"] == f"{TITLE} \u2013 Humas Lapas"
    assert page.alts == [ALT]
    feed = ElementTree.fromstring(requests.get(f"{fake.url}/feed/", timeout=2).content)
    assert [t.text for t in feed.iter("title")][1:] == [TITLE]


# --- error mapping ---------------------------------------------------------------------


def test_a_host_that_strips_authorization_gives_auth_failed_with_a_hint(fake, channel):
    fake.strips_authorization = True
    outcome = channel.publish(release())
    assert isinstance(outcome, AuthFailed) and "rest_cannot_create" in outcome.reason
    assert "did not receive the credentials" in outcome.reason
    assert "Authorization header" in outcome.reason


def test_a_wrong_application_password_is_auth_failed_and_named_as_the_cause(fake):
    outcome = channel_for(fake.url, {"username": "humas", "app_password": "wrong pass"}) \
        .publish(release())
    assert isinstance(outcome, AuthFailed) and "incorrect_password" in outcome.reason
    assert "application password of user 'humas' is wrong" in outcome.reason
    assert "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD" in outcome.reason
    assert "Authorization header" not in outcome.reason


def test_a_user_without_the_right_to_publish_is_auth_failed(fake, channel):
    fake.can_publish = False
    outcome = channel.publish(release())
    assert isinstance(outcome, AuthFailed) and "rest_cannot_create" in outcome.reason


def test_an_invalid_field_is_rejected(fake):
    adapter = channel_for(fake.url, status="published")
    outcome = adapter.publish(release())
    assert isinstance(outcome, Rejected) and "rest_invalid_param" in outcome.reason


def test_a_server_error_while_looking_up_tags_is_not_sent(fake, channel):
    fake.fail_next(status=503, body="Service Unavailable", path=".*/tags")
    assert isinstance(channel.publish(release()), NotSent)


def test_a_waf_answering_html_to_a_create_is_in_doubt(fake, channel):
    fake.fail_next(status=200, body="<html>Checking your browser…</html>", path=".*/posts")
    outcome = channel.publish(release())
    assert isinstance(outcome, InDoubt) and "/wp-json" in outcome.detail


# --- probe -----------------------------------------------------------------------------


def test_probe_finds_the_post_by_its_deterministic_slug(fake, channel):
    delivery = release(due_at=datetime.now(UTC))
    fake.fail_next(Fault(apply=True, status=502, body="Bad Gateway", path=".*/posts"))
    assert isinstance(channel.publish(delivery), InDoubt)

    [post] = fake.posts
    assert channel.probe(delivery) == Published(str(post.id), fake.post_link(post))
    [lookup] = fake.calls("GET", ".*/posts")
    assert lookup.query["slug"][0].split(",")[0] == post.slug
    assert lookup.query["status"] == ["any"]


def test_another_releases_post_with_the_same_title_is_never_taken_for_this_one(
        fake, channel):
    fake.add_post("jadwal-kunjungan", created=time.time(), title="Jadwal Kunjungan")
    delivery = release(title="Jadwal Kunjungan", slug="jadwal-kunjungan")
    fake.fail_next(status=502, body="Bad Gateway", path=".*/posts")  # never reached the site
    assert isinstance(channel.publish(delivery), InDoubt)

    assert isinstance(channel.probe(delivery), NotSent)


def test_probe_cannot_tell_when_the_site_is_down(fake, channel):
    fake.fail_next(status=401, body={"code": "rest_not_logged_in", "message": "no"})
    assert channel.probe(release()) is None


# --- check and secrets -----------------------------------------------------------------


def test_check_names_the_user(fake, channel):
    result = channel.check()
    assert result.ok and result.identity == "humas" and result.expires_at is None


def test_check_fails_for_a_user_who_may_not_publish(fake, channel):
    fake.can_publish = False
    assert not channel.check().ok


def test_check_names_a_wrong_application_password_as_the_cause(fake):
    result = channel_for(fake.url, {"username": "humas", "app_password": "nope nope"}).check()
    assert not result.ok and "incorrect_password" in result.detail
    assert "application password of user 'humas' is wrong or was revoked" in result.detail
    assert "Authorization header" not in result.detail


def test_check_names_an_unknown_user_as_the_cause(fake):
    result = channel_for(fake.url, {"username": "humas-lama", "app_password": PASSWORD}).check()
    assert not result.ok and "invalid_username" in result.detail
    assert "no user 'humas-lama'" in result.detail and "SIAR_SECRET_WEB_LAPAS_USERNAME" \
        in result.detail


def test_check_points_at_the_host_when_wordpress_never_saw_the_credentials(fake, channel):
    fake.strips_authorization = True
    result = channel.check()
    assert not result.ok and "rest_not_logged_in" in result.detail
    assert "Authorization header" in result.detail and "wrong" not in result.detail


def test_no_secret_appears_in_outcomes_or_dry_run(fake, channel, photo_jpeg):
    fake.fail_next(status=400, body={"code": "x", "message": f"bad {PASSWORD} "
                                                             "abcdEFGH1234ijkl"})
    outcome = channel.publish(release(tags=[]))
    assert isinstance(outcome, Rejected)
    dry = WordPressChannel(AccountConfig(name="w", network="wordpress"), {})
    requests_ = dry.dry_run_requests(release(media=[Media(path=str(photo_jpeg), alt="a")]))
    assert requests_[-1]["url"] == "https://{site}/wp-json/wp/v2/posts"
    assert_no_secret([outcome, requests_, channel.check()], [PASSWORD, "abcdEFGH1234ijkl"])


