"""Exports "with images" download remote images (under the outgoing URL policy) exactly where
label_studio_sdk's converter puts them: images/<md5 of the URL>__<name>, sizes read from the file.
Served from a local HTTP server that this module's settings allow."""
from __future__ import annotations

import dataclasses
import http.server
import io
import threading

import pytest
from PIL import Image

from tests.test_export_formats import BBOX, build_project, check_format, rectangle


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, allowed_url_hosts=("127.0.0.1",))


@pytest.fixture
def image_server():
    png = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 10, 10)).save(png, format="PNG")
    body = png.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.startswith("/img/"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", body
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("export_type", ["COCO_WITH_IMAGES", "YOLO_WITH_IMAGES", "YOLO_OBB_WITH_IMAGES", "VOC"])
def test_remote_images_are_downloaded_like_the_converter(actor, db, tmp_path, image_server, export_type):
    base, body = image_server
    project_id = build_project(actor, db, BBOX, [
        ({"image": f"{base}/img/red.png"}, [([rectangle(10, 10, 50, 50, "Cat")], False)]),
        ({"image": f"{base}/missing/gone.png"}, [([rectangle(1, 1, 5, 5, "Dog")], False)]),
    ])
    ours = check_format(actor, project_id, BBOX, export_type, tmp_path, download_resources=export_type == "VOC")
    downloaded = [path for path in (ours / "images").iterdir()]
    assert [path.read_bytes() for path in downloaded] == [body]
    assert downloaded[0].name.endswith("__red.png")
