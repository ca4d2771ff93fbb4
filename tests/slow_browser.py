"""A browser on a slow connection, for the browser tests: the app's answer to "make this download"
reaches the page only after the page has been redrawn a given number of times.

Streamlit makes a download whose file is made on the click (a deferred download) when the browser
asks for it over the app's socket, and keeps the file only until two more runs of the page end. On a
page redrawn every second, a browser slower than that (or busy) fetched nothing. Holding that answer
makes the slow browser happen on any machine; the page's runs are counted from the same socket.
"""

from __future__ import annotations

import re
import time


class SlowDownloads:
    """Watches ``page``'s socket to the app (from the next load on): ``runs`` counts the runs of the
    page (whole or of a fragment) that ended; an answer to a deferred download is held until
    ``redraws`` more runs have ended."""

    def __init__(self, page, redraws: int = 2) -> None:
        self.page = page
        self.redraws = redraws
        self.runs = 0
        self.held: list[tuple[bytes, int]] = []
        page.route_web_socket(re.compile(r".*/_stcore/stream$"), self._route)

    def _route(self, socket) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        server = socket.connect_to_server()

        def from_server(message) -> None:
            kind = ForwardMsg.FromString(message).WhichOneof("type") if isinstance(message, bytes) else None
            if kind == "backend_operation_response":
                self.held.append((message, self.runs + self.redraws))
                return
            if kind == "script_finished":
                self.runs += 1
            for held in [h for h in self.held if h[1] <= self.runs]:
                self.held.remove(held)
                socket.send(held[0])
            socket.send(message)

        server.on_message(from_server)
        socket.on_message(server.send)

    def wait_for_runs(self, more: int, timeout: float = 30) -> None:
        """Until ``more`` further runs of the page have ended."""
        until = self.runs + more
        deadline = time.monotonic() + timeout
        while self.runs < until:
            assert time.monotonic() < deadline, f"the page was not redrawn {more} times in {timeout:.0f} s"
            self.page.wait_for_timeout(100)  # lets Playwright hand over the socket's messages
