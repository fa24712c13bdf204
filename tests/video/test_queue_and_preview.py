"""A release with a video, queued and previewed (issue 16): each account's post names the
file prepared for its network — kept once in the media store by SHA-256, with its
pixels, bytes, length and cover —, exactly the file the preview described; networks
that cannot mix a video with photos take the video, those that take no video (Slack)
the photos, with a warning, and e-mail both (the video goes as its cover linked to it).
The terminal, ``--json`` and the HTML page show each video as each network gets it.
Queued on SQLite and on the real PostgreSQL the tests start."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import av
import pytest
from PIL import Image

from channels.video import VideoError, check_prepared, probe
from tests.chromium import start_chromium
from tests.core.conftest import row_counts

CONFIG = """
timezone = "Asia/Jakarta"
[[accounts]]
name = "x-lapas"
network = "x"
[[accounts]]
name = "ig-lapas"
network = "instagram"
options = { user_id = "1789", public_media_base_url = "https://lapas.example.go.id/media" }
[[accounts]]
name = "wp-lapas"
network = "wordpress"
base_url = "https://lapas.example.go.id"
[[accounts]]
name = "surel"
network = "email"
options = { host = "smtp.example.go.id", from = "humas@example.go.id", to = ["r@example.go.id"] }
[[accounts]]
name = "slack-humas"
network = "slack"
"""


def sideways(source: Path, target: Path) -> Path:
    """``source`` as a phone stores an upright clip: the picture sideways, a display
    matrix turning it, and where it was filmed."""
    with av.open(str(source)) as reading, av.open(str(target), "w") as writing:
        copies = {}
        for stream in (reading.streams.video[0], reading.streams.audio[0]):
            copies[stream.index] = writing.add_stream_from_template(stream)
        copies[reading.streams.video[0].index].set_display_rotation(90)
        writing.metadata["location"] = "-02.1300+106.1100/"
        for packet in reading.demux():
            if packet.dts is not None:
                packet.stream = copies[packet.stream.index]
                writing.mux(packet)
    return target


@pytest.fixture
def release(workspace: Path, short_clip: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIAR_VIDEO_PRESET", "ultrafast")  # workspace cleared SIAR_*
    (workspace / "siar.toml").write_text(CONFIG, encoding="utf-8")
    sideways(short_clip, workspace / "klip.mov")
    Image.new("RGB", (1200, 900), (20, 120, 60)).save(workspace / "foto.jpg")
    path = workspace / "rilis.md"
    path.write_text("---\ntitle: Rakor Humas\nimages: [{path: foto.jpg, alt: Halaman}]\n"
                    "videos:\n  - {path: klip.mov, caption: Kalapas membuka rakor, cover: 2,"
                    " title: Rakor 2026}\n---\nIsi rilis.\n", encoding="utf-8")
    return path


def preview(siar, target: str) -> dict[str, dict]:
    result = siar("preview", target, "--json")
    assert result.code == 0, result.err
    return {v["account"]: v for v in json.loads(result.out)["variants"]}


def test_a_release_with_a_video_queues_the_prepared_files(
        workspace: Path, siar, database: str, release: Path) -> None:
    previewed = preview(siar, "rilis.md")
    added = siar("add", "rilis.md", "--at", "besok 10.00", "--json")
    assert added.code == 0, added.err
    queued = preview(siar, str(json.loads(added.out)["release"]))
    assert row_counts(workspace)["post"] == 5 if database == "sqlite" else True

    # X and Instagram cannot mix: the video alone; WordPress: the video and the photo
    assert [m["kind"] for m in queued["x-lapas"]["media"]] == ["video"]
    assert any("not both" in w for w in queued["x-lapas"]["warnings"])
    assert [m["kind"] for m in queued["wp-lapas"]["media"]] == ["video", "image"]
    # Slack takes no video: the photo, and a warning saying why
    assert [m["kind"] for m in queued["slack-humas"]["media"]] == ["image"]
    assert any("takes no video here: klip.mov left out" in w and "'link:'" in w
               for w in queued["slack-humas"]["warnings"])
    # e-mail: the video (sent as its cover, linked to it) and the photo, with no warning
    assert [m["kind"] for m in queued["surel"]["media"]] == ["video", "image"]
    assert not any("video" in w for w in queued["surel"]["warnings"])

    for account in ("x-lapas", "ig-lapas", "wp-lapas", "surel"):
        video = queued[account]["media"][0]
        path = Path(video["path"])
        assert path.parent.parent == workspace / "home" / "media"
        assert path.parent.name == video["sha256"] == hashlib.sha256(
            path.read_bytes()).hexdigest()
        assert check_prepared(path) == path
        facts = probe(path)
        assert (facts.width, facts.height) == (video["width"], video["height"]) == (360, 640)
        assert facts.rotation == 0 and facts.size == video["bytes"]
        assert video["duration"] == pytest.approx(4.0, abs=0.3)
        assert video["mime"] == "video/mp4" and video["alt"] == "Kalapas membuka rakor"
        assert video["title"] == "Rakor 2026" and video["source"].endswith("klip.mov")
        assert b"106.1100" not in path.read_bytes()  # where it was filmed stays home
        # the preview described exactly this file
        described = previewed[account]["media"][0]
        assert {k: described[k] for k in ("sha256", "bytes", "width", "height", "duration")} \
            == {k: video[k] for k in ("sha256", "bytes", "width", "height", "duration")}
        assert queued[account]["video_changes"] == ["turned upright (90° in the file)"]
    # a cover where the network shows one (Instagram's grid, WordPress's poster) or the
    # release names one (here: second 2, for all)
    cover = Path(queued["ig-lapas"]["media"][0]["cover"])
    with Image.open(cover) as picture:
        assert picture.format == "JPEG" and picture.size == (360, 640)
    # one prepared file for the three networks (equal plans), kept once
    assert len({queued[a]["media"][0]["path"] for a in ("x-lapas", "ig-lapas",
                                                         "wp-lapas")}) == 1
    # Instagram fetches it by URL from where the store serves it
    assert queued["ig-lapas"]["media"][0]["url"].endswith("/klip.mp4")


def test_a_prepared_video_changed_after_queueing_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "media" / ("0" * 64)
    folder.mkdir(parents=True)
    (folder / "klip.mp4").write_bytes(b"not what was queued")
    with pytest.raises(VideoError, match="changed after it was queued"):
        check_prepared(folder / "klip.mp4")


def test_the_terminal_lists_each_video_as_each_network_gets_it(siar, release: Path) -> None:
    result = siar("preview", "rilis.md")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "klip.mov → MP4 360×640, 0:04" in text
    assert "transcoded: turned upright (90° in the file)" in text
    assert "caption: Kalapas membuka rakor" in text


def thumbnails(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)]


def test_the_html_cards_show_the_cover_and_the_length(siar, release: Path,
                                                     workspace: Path) -> None:
    result = siar("preview", "rilis.md", "--html", "pratinjau.html")
    assert result.code == 0, result.err
    page = (workspace / "pratinjau.html").read_text(encoding="utf-8")
    assert page.count('class="duration">▶ 0:04') == 4  # X, Instagram, WordPress, e-mail
    shown = thumbnails(page)
    posters = [t for t in shown if t.height > t.width]  # the upright video's frames
    assert len(posters) == 4 and 'class="placeholder"' not in page


@pytest.mark.browser
def test_video_cards_fit_a_360_pixel_phone_in_headless_chromium(siar, release: Path,
                                                                workspace: Path) -> None:
    assert siar("preview", "rilis.md", "--html", "pratinjau.html").code == 0
    browser = start_chromium(workspace / "profile")
    try:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
        browser.get((workspace / "pratinjau.html").as_uri())
        layout = browser.execute_script("""
            const posters = [...document.querySelectorAll('figure.video')];
            return {viewport: window.innerWidth,
                    scroll: document.documentElement.scrollWidth,
                    posters: posters.map(p => {
                        const img = p.querySelector('img').getBoundingClientRect();
                        const time = p.querySelector('.duration').getBoundingClientRect();
                        const card = p.closest('section').getBoundingClientRect();
                        return {right: img.right, card: card.right, height: img.height,
                                loaded: p.querySelector('img').naturalWidth > 0,
                                timeInside: time.right <= card.right && time.bottom <=
                                    p.getBoundingClientRect().bottom};
                    })};
        """)
    finally:
        browser.quit()
    assert layout["viewport"] == 360 and layout["scroll"] <= 360, "the page scrolls sideways"
    assert len(layout["posters"]) == 4  # X, Instagram, WordPress, e-mail
    for poster in layout["posters"]:
        assert poster["loaded"] and poster["timeInside"]
        assert poster["right"] <= poster["card"] + 0.5 and poster["height"] <= 360
