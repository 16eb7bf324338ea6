"""HarvestClient.open_get against real loopback servers: redirects, headers, the token's reach."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest

from harvest.net.client import USER_AGENT, make_client
from harvest.net.wire import TooManyRedirects


class _Recorder(BaseHTTPRequestHandler):
    """Answers by path: /to/URL redirects there (302), /loop redirects to itself, else 200.
    Every request's path and headers (names lowercased) are recorded on the server."""

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.seen.append((self.path, headers))  # type: ignore[attr-defined]
        if self.path.startswith("/to/"):
            self._answer(302, b"", {"Location": self.path[len("/to/") :]})
        elif self.path == "/loop":
            self._answer(307, b"", {"Location": "/loop"})
        else:
            self._answer(200, f"body of {self.path}".encode(), {"ETag": '"v1"'})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    """Two servers on two ports: two origins."""
    started = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def _url(server: Any, path: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    async with make_client(timeout=5.0) as client, client.open_get(url, headers) as response:
        return response.status_code, await response.aread(), response.url


def test_a_redirect_within_the_origin_keeps_the_headers(servers: list[Any]) -> None:
    home = servers[0]
    status, body, final = anyio.run(
        _get, _url(home, "/to//tarballs/a.tar"), {"Authorization": "token secret"}
    )
    assert (status, body) == (200, b"body of /tarballs/a.tar")
    assert final == _url(home, "/tarballs/a.tar")
    assert [path for path, _ in home.seen] == ["/to//tarballs/a.tar", "/tarballs/a.tar"]
    for _path, headers in home.seen:
        assert headers["authorization"] == "token secret"
        assert headers["user-agent"] == USER_AGENT


def test_a_redirect_to_another_origin_leaves_the_token_behind(servers: list[Any]) -> None:
    home, elsewhere = servers
    target = _url(elsewhere, "/codeload/a.tar")
    status, body, _final = anyio.run(
        _get, _url(home, f"/to/{target}"), {"Authorization": "token secret"}
    )
    assert (status, body) == (200, b"body of /codeload/a.tar")
    assert home.seen[0][1]["authorization"] == "token secret"
    (path, headers), *_ = elsewhere.seen
    assert path == "/codeload/a.tar"
    assert "authorization" not in headers
    assert headers["user-agent"] == USER_AGENT


def test_endless_redirects_stop_with_an_error(servers: list[Any]) -> None:
    with pytest.raises(TooManyRedirects):
        anyio.run(_get, _url(servers[0], "/loop"))
    assert len(servers[0].seen) == 11  # the first request plus ten redirects


def test_a_non_redirect_status_is_returned_with_its_body(servers: list[Any]) -> None:
    status, body, _final = anyio.run(_get, _url(servers[0], "/packages/x"))
    assert (status, body) == (200, b"body of /packages/x")
