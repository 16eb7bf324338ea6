"""harvest.net.wire against a loopback TCP server that answers with exact bytes: keep-alive
reuse, stale connections, every way a body can end, and the faults the retry policy relies on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import anyio
import pytest

from harvest.net.retry import is_transient
from harvest.net.wire import (
    HIGH_WATER,
    ConnectError,
    ReadTimeout,
    RemoteProtocolError,
    WirePool,
)

# Answers a request (its bytes) on one connection; returns what to send back, or None to close.
Script = Callable[[bytes, int], bytes | None]


class RawServer:
    """A TCP server on 127.0.0.1 that hands each request to `script`, with the connection's
    number, and records the requests and how many connections were made."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:  # reset by the client
                        return
                    if not data:
                        return
                    buffer += data
                request, _, buffer = buffer.partition(b"\r\n\r\n")
                self.requests.append(request)
                answer = self.script(request, number)
                if answer is None:
                    return
                try:
                    conn.sendall(answer)
                except OSError:  # the client hung up mid-answer
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], RawServer]]:
    started: list[RawServer] = []

    def start(script: Script) -> RawServer:
        started.append(RawServer(script))
        return started[-1]

    yield start
    for server in started:
        server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def pool(timeout: float = 5.0) -> WirePool:
    return WirePool(
        headers={"User-Agent": "test"}, max_connections=4, timeout=timeout, connect_timeout=2
    )


async def fetch(wire: WirePool, url: str, **kw: object) -> tuple[int, dict[str, str], bytes]:
    async with wire.open_get(url, **kw) as response:  # type: ignore[arg-type]
        return response.status_code, response.headers, await response.aread()


def run(coro_fn: Callable[[], object]) -> object:
    return anyio.run(coro_fn)  # type: ignore[arg-type]


def test_keep_alive_sends_every_request_on_one_connection(serve) -> None:
    server = serve(lambda request, _n: ok(b"x" * 10, 'ETag: "e1"\r\n'))

    async def main() -> list[tuple[int, dict[str, str], bytes]]:
        wire = pool()
        try:
            return [await fetch(wire, f"{server.url}/packages/p{i}") for i in range(20)]
        finally:
            wire.close()

    results = run(main)
    assert all(r == (200, {"content-length": "10", "etag": '"e1"'}, b"x" * 10) for r in results)
    assert server.connections == 1
    first = server.requests[0].decode()
    assert first.startswith("GET /packages/p0 HTTP/1.1\r\n")
    assert f"Host: {server.url.removeprefix('http://')}" in first
    assert "User-Agent: test" in first


def test_a_connection_the_server_dropped_while_idle_is_replaced_once(serve) -> None:
    # Connection 1 answers /a, then closes when asked again (as a server whose keep-alive
    # timeout ran out does): the request goes again, on connection 2, and succeeds.
    server = serve(lambda request, n: ok(b"conn%d" % n) if n > 1 or b"/a " in request else None)

    async def main() -> list[bytes]:
        wire = pool()
        try:
            return [(await fetch(wire, f"{server.url}/{p}"))[2] for p in ("a", "b", "c")]
        finally:
            wire.close()

    assert run(main) == [b"conn1", b"conn2", b"conn2"]
    assert [r.split(b" ")[1] for r in server.requests] == [b"/a", b"/b", b"/b", b"/c"]


def test_chunked_and_close_delimited_bodies_are_read_whole(serve) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    server = serve(lambda request, n: chunked)

    class CloseAfter(RawServer):
        def _serve(self, conn: socket.socket, number: int) -> None:
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end")

    close_server = CloseAfter(lambda request, n: None)

    async def main() -> tuple[bytes, bytes]:
        wire = pool()
        try:
            first = (await fetch(wire, f"{server.url}/chunked"))[2]
            second = (await fetch(wire, f"{close_server.url}/eof"))[2]
            return first, second
        finally:
            wire.close()

    try:
        assert run(main) == (b"hello world", b"to the end")
    finally:
        close_server.close()


def test_a_body_cut_short_is_a_transient_protocol_error(serve) -> None:
    class CutShort(RawServer):
        def _serve(self, conn: socket.socket, number: int) -> None:
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly forty bytes")

    server = CutShort(lambda request, n: None)

    async def main() -> None:
        wire = pool()
        try:
            await fetch(wire, f"{server.url}/t.tar")
        finally:
            wire.close()

    try:
        with pytest.raises(RemoteProtocolError) as caught:
            run(main)
        assert is_transient(caught.value)
    finally:
        server.close()


def test_silence_is_a_read_timeout_and_a_closed_port_a_connect_error(serve) -> None:
    server = serve(lambda request, n: b"")  # reads the request, never answers

    async def silent() -> None:
        wire = pool(timeout=0.3)
        try:
            await fetch(wire, f"{server.url}/slow")
        finally:
            wire.close()

    with pytest.raises(ReadTimeout) as caught:
        run(silent)
    assert is_transient(caught.value)

    port = socket.create_server(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{port.getsockname()[1]}/x"
    port.close()

    async def refused() -> None:
        wire = pool()
        try:
            await fetch(wire, closed_url)
        finally:
            wire.close()

    with pytest.raises(ConnectError) as refused_error:
        run(refused)
    assert is_transient(refused_error.value)


def test_a_body_larger_than_the_buffer_streams_in_order(serve) -> None:
    body = bytes(range(256)) * (4 * HIGH_WATER // 256)
    server = serve(lambda request, n: ok(body))

    async def main() -> tuple[bytes, int]:
        wire = pool()
        try:
            async with wire.open_get(f"{server.url}/big.tar") as response:
                pieces = []
                async for chunk in response.aiter_raw():
                    pieces.append(chunk)
                    await anyio.sleep(0.001)  # a slow reader: the socket must be paused
                return b"".join(pieces), len(pieces)
        finally:
            wire.close()

    received, count = run(main)
    assert received == body
    assert count > 1


def test_an_unread_body_does_not_poison_the_next_request(serve) -> None:
    body = b"y" * (4 * HIGH_WATER)  # more than is buffered: the answer cannot be complete
    server = serve(lambda request, n: ok(body))

    async def main() -> bytes:
        wire = pool()
        try:
            async with wire.open_get(f"{server.url}/first") as response:
                assert response.status_code == 200  # body left unread
            return (await fetch(wire, f"{server.url}/second"))[2]
        finally:
            wire.close()

    assert run(main) == body
    assert server.connections == 2  # the half-read connection was closed, not reused


def test_a_header_or_url_with_a_line_break_is_refused_before_sending(serve) -> None:
    server = serve(lambda request, n: ok(b""))

    async def main(url: str, headers: dict[str, str]) -> None:
        wire = pool()
        try:
            await fetch(wire, url, headers=headers)
        finally:
            wire.close()

    with pytest.raises(ValueError, match="line break"):
        anyio.run(main, f"{server.url}/x", {"If-None-Match": '"a"\r\nX-Evil: 1'})
    with pytest.raises(ValueError, match="line break"):
        anyio.run(main, f"{server.url}/x y", {})
    assert server.requests == []


def test_a_not_modified_answer_has_no_body_and_keeps_the_connection(serve) -> None:
    def script(request: bytes, n: int) -> bytes:
        if b'If-None-Match: "e1"' in request:
            return b'HTTP/1.1 304 Not Modified\r\nETag: "e1"\r\n\r\n'
        return ok(b"registry", 'ETag: "e1"\r\n')

    server = serve(script)

    async def main() -> list[tuple[int, bytes]]:
        wire = pool()
        try:
            first = await fetch(wire, f"{server.url}/versions")
            second = await fetch(wire, f"{server.url}/versions", headers={"If-None-Match": '"e1"'})
            return [(first[0], first[2]), (second[0], second[2])]
        finally:
            wire.close()

    assert run(main) == [(200, b"registry"), (304, b"")]
    assert server.connections == 1
