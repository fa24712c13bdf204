"""A public web server holding the office's photos, for networks that fetch by URL.

Instagram and Threads download each image from the URL they are given; their fakes do
the same, from servers on this machine only (the tests never reach the internet). This
server stands for "a photo already on the web": any ``*.jpg``/``*.jpeg`` path is a
1080×1080 JPEG, ``*.png`` a PNG, ``/not-an-image.jpg`` an HTML page with an image's
name, anything else 404. One server is started on first use and serves every test.
"""

from __future__ import annotations

import io
import re
import threading
from functools import cache

from PIL import Image

from tests.fakes.server import FakeRequest, FakeServer, Response


@cache
def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (1080, 1080)) -> bytes:
    """A small real image in format ``kind``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, kind)
    return buffer.getvalue()


class PhotoWeb(FakeServer):
    """A static web server: the photo URLs of the tests point at it."""

    def __init__(self) -> None:
        super().__init__()
        # every path is served: one catch-all route
        self.routes.append(("GET", re.compile(r"^/(?P<path>.*)$"), self._file))

    @staticmethod
    def _file(request: FakeRequest) -> Response:
        path = request.params["path"].lower()
        if path.endswith("not-an-image.jpg"):
            return 200, {"Content-Type": "text/html"}, "<html>moved</html>"
        if path.endswith((".jpg", ".jpeg")):
            return 200, {"Content-Type": "image/jpeg"}, image_bytes("JPEG")
        if path.endswith(".png"):
            return 200, {"Content-Type": "image/png"}, image_bytes("PNG")
        return 404, {}, "not found"


_lock = threading.Lock()
_running: list[PhotoWeb] = []


def photo_web() -> PhotoWeb:
    """The one photo server of this test process (started on first use, never stopped:
    it is a daemon thread that ends with the process)."""
    with _lock:
        if not _running:
            _running.append(PhotoWeb().start())  # type: ignore[arg-type]
        return _running[0]


def photo_url(path: str) -> str:
    """The public URL of ``path`` on the photo server."""
    return f"{photo_web().url}/{path.lstrip('/')}"
