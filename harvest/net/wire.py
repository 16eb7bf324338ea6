"""Keep-alive HTTP/1.1 GETs for the crawl's hot path: asyncio sockets and llhttp (httptools).

A Hex crawl makes two GETs per package (the signed `/packages/NAME`, then the tarball) on one
event loop, and that loop's CPU decides how closely the crawl follows the network
(bench/hex_crawl.py). Through httpx over aiohttp a GET cost 550-800 us of CPU; here it costs
120-190 us, because a request is one preformatted write and a response is parsed by llhttp's C
code straight into a list of body chunks, with no per-request objects beyond these. Everything
else (the Hex API, GitHub's GraphQL) keeps httpx.

It imports nothing heavy (httpx with its optional command-line extras costs a process 17 MB),
so the release worker processes can use it. Failures raise WireError's subclasses; the retry
policy (harvest.net.retry) counts the transient ones as it counts httpx's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from urllib.parse import SplitResult, urljoin, urlsplit

import certifi
import httptools

HIGH_WATER = 1 << 18  # buffered body bytes before the socket stops being read
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10
MAX_CONNECT_TIMEOUT = 15.0  # a host that takes longer to accept is as good as down

Origin = tuple[str, str, int]


class WireError(Exception):
    """A GET that failed on the way: no usable answer came back."""


class ConnectError(WireError):
    pass


class ConnectTimeout(ConnectError):
    pass


class ReadError(WireError):
    pass


class ReadTimeout(WireError):
    pass


class RemoteProtocolError(WireError):
    """The server broke HTTP/1.1, or closed the connection mid-answer."""


class TooManyRedirects(WireError):
    pass


class UnsupportedProtocol(WireError):
    pass


TRANSIENT_ERRORS = (ConnectError, ReadError, ReadTimeout, RemoteProtocolError)


class Getter(Protocol):
    """What the streaming downloads need: WirePool, or HarvestClient (which wraps one)."""

    def open_get(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> AbstractAsyncContextManager[WireResponse]: ...


class WireResponse:
    """Status, headers (names lowercased) and a body that streams: read it once, either way."""

    def __init__(self, url: str, conn: _Connection) -> None:
        self.url = url
        self.status_code = conn.status
        self.headers = conn.headers
        self._conn = conn

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._conn.next_chunk()
            if chunk is None:
                return
            yield chunk

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])


class _Connection(asyncio.Protocol):
    """One socket, one request at a time; llhttp's callbacks fill `headers` and `chunks`."""

    def __init__(self, origin: Origin, timeout: float) -> None:
        self.origin = origin
        self.timeout = timeout  # the longest wait for the next piece of an answer
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.error: Exception | None = None
        self.idle_since = 0.0
        self._begin()

    def _begin(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.got_bytes = False
        self.headers_done = False
        self.keep_alive = False
        self.complete = False
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - we never ask to upgrade
            self._fail(RemoteProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and exc is None and self._delimited_by_close():
            self.complete = True  # RFC 9112 6.3: no length and not chunked, the body ends here
        if not self.complete:
            detail = f": {exc}" if exc else ""
            error = (
                RemoteProtocolError("server closed the connection mid-body" + detail)
                if self.headers_done
                else ReadError("server closed the connection" + detail)
            )
            self.error = self.error or error
        self._wake()

    def _delimited_by_close(self) -> bool:
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    # -- llhttp callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once complete
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # -- the caller's side ------------------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        self.error = self.error or error
        self.close()
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _wait(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self.timeout):
                await self.waiter
        except TimeoutError:
            raise ReadTimeout(f"no answer within {self.timeout:g} s") from None
        finally:
            self.waiter = None

    async def send(self, request: bytes) -> None:
        """Write the request and wait for the response's headers."""
        self._begin()
        assert self.transport is not None
        self.transport.write(request)
        while not self.headers_done:
            if self.error:
                raise self.error
            await self._wait()

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while not self.chunks:
            if self.complete:
                return None
            if self.error:
                raise self.error
            await self._wait()
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= HIGH_WATER // 2 and self.transport:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    @property
    def reusable(self) -> bool:
        return self.complete and not self.closed and self.keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class WirePool:
    """Idle connections per origin, at most `max_connections` sockets open at once."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        max_connections: int,
        timeout: float,
        connect_timeout: float | None = None,
        keepalive_expiry: float = 30.0,
    ) -> None:
        self.headers = dict(headers)
        self.timeout = timeout
        self.connect_timeout = connect_timeout or min(timeout, MAX_CONNECT_TIMEOUT)
        self.keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    @contextlib.asynccontextmanager
    async def open_get(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[WireResponse]:
        """GET `url`, following redirects (the Authorization header stays behind when one
        leaves the origin); the body streams. An unread body closes the connection."""
        merged = {**self.headers, **(headers or {})}
        for _ in range(MAX_REDIRECTS + 1):
            async with self._slots:
                origin, request = _request(url, merged)
                conn = await self._exchange(origin, request)
                location = conn.headers.get("location")
                if conn.status not in REDIRECTS or not location:
                    try:
                        yield WireResponse(url, conn)
                    finally:
                        self._release(conn)
                    return
                self._release(conn)  # a redirect's body is dropped with its connection
            target = urljoin(url, location)
            if _origin(target) != origin:
                merged = {k: v for k, v in merged.items() if k.lower() != "authorization"}
            url = target
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects, last to {url}")

    async def _exchange(self, origin: Origin, request: bytes) -> _Connection:
        """Send on an idle connection if one is open, else on a new one. A reused connection
        the server had already closed fails before any byte comes back: asked again, once, on
        a fresh connection (a GET is safe to repeat)."""
        conn = self._take_idle(origin)
        if conn is not None:
            try:
                await conn.send(request)
                return conn
            except BaseException as exc:
                conn.close()
                stale = isinstance(exc, ReadError | RemoteProtocolError)
                if not stale or conn.got_bytes:
                    raise
        conn = await self._connect(origin)
        try:
            await conn.send(request)
        except BaseException:
            conn.close()
            raise
        return conn

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive_expiry:
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        if conn.reusable:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.origin, []).append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        context = self._tls() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin, self.timeout),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from None
        return conn

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _origin(url: str) -> Origin:
    return _origin_of(urlsplit(url), url)


def _origin_of(parts: SplitResult, url: str) -> Origin:
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsupportedProtocol(f"not an http(s) URL: {url!r}")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _request(url: str, headers: Mapping[str, str]) -> tuple[Origin, bytes]:
    """The origin to send to and the request's bytes; CR or LF in a header is refused, so
    nothing a URL or a header carries can smuggle a second request."""
    parts = urlsplit(url)
    origin = _origin_of(parts, url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if origin[0] == "https" else 80
    host = origin[1] if origin[2] == default_port else f"{origin[1]}:{origin[2]}"
    fields = [target, *headers, *headers.values()]
    if " " in target or any("\r" in f or "\n" in f for f in fields):
        raise ValueError(f"refusing a request with a space or line break inside: {url!r}")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return origin, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
