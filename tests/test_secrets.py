"""The API key appears nowhere: not in the store, the media folder, the logs or any rendered page —
even when the service echoes it back in its errors (issue 11 #13 and "Secrets")."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .apptest_helpers import new_app, stop_engines  # noqa: F401 - autouse: stops this module's engines

KEY = "sk-secret-walk-5f3c9a7e1d2b4c6a"
PAGES = sorted(p.name for p in (Path(__file__).resolve().parent.parent / "app_pages").glob("*.py"))


class _Echo(BaseHTTPRequestHandler):
    """A service that refuses everything and quotes the caller's Authorization header back."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        said = self.headers.get("authorization", "")
        body = json.dumps({"code": -1, "msg": f"apikey error: {said} is not valid", "data": {"error": said}})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def echoing_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _rendered(at) -> str:
    """Everything the page drew, as the browser would receive it."""
    parts = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def _files_holding(folder: Path, secret: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_every_page_with_a_key_that_the_service_echoes(monkeypatch, tmp_path, echoing_service, caplog):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    at = new_app(monkeypatch, data, GRSAI_API_KEY=KEY, GRSAI_BASE_URL=echoing_service)
    shown = [_rendered(at)]
    for page in PAGES:
        at.switch_page(f"app_pages/{page}")
        at.run()
        assert not at.exception, (page, at.exception)
        shown.append(_rendered(at))
        for button in [b for b in at.button if b.label in ("Test connection", "Check again")]:
            button.click()
            at.run()
            shown.append(_rendered(at))
    # a request the service refuses, quoting the key: the error reaches the page and the store
    at.switch_page("app_pages/generate.py")
    at.run()
    at.text_area(key="generate_prompt").set_value("a kite over the sea")
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    from studio.db import LibraryFilter, Store, default_url

    store = Store(default_url(data))
    try:
        deadline_runs = 60
        while deadline_runs and not any(g.error for g in store.search(LibraryFilter(), limit=5)[0]):
            deadline_runs -= 1
            at.run()  # the engine sends meanwhile; each run re-reads the store
        rows = store.search(LibraryFilter(), limit=5)[0]
    finally:
        store.dispose()
    shown.append(_rendered(at))
    assert rows and rows[0].error, "the refused request never came back with the service's words"
    assert "apikey error" in rows[0].error  # the service's words are kept ...
    everything = "\n".join(shown)
    assert KEY not in everything  # ... without the key, on any page
    assert _files_holding(data, KEY.encode()) == []  # the store and the media folder
    assert KEY not in caplog.text  # the logs
