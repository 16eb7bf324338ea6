"""A Hex repository and API on 127.0.0.1, built from our own encoders and signed with a test key.

Serves `/names`, `/versions`, `/packages/NAME`, `/tarballs/NAME-VERSION.tar` (ETag and 304s
like the CDN, 403 for unknown paths) and `/api/packages[/NAME]` (fixed-window rate limit with
`x-ratelimit-*` headers and header-only 429s, as hex.pm does). Faults are injected per path:
5xx, slow answers, connection resets and truncated bodies, plus tarball variants with a wrong
checksum, path traversal, a symlink escape or a decompression bomb.

Run it by hand: `python -m tests.fakes.hex_server --port 8765` serves the demo packages.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import socket
import struct
import tarfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harvest.hex import registry
from harvest.hex.metadata import Metadata, format_metadata
from harvest.hex.tarball import build_contents, build_tarball

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO_PACKAGES = FIXTURES / "hex_packages"
OLD = datetime(2024, 1, 1)


@dataclass
class FakeRelease:
    version: str
    files: dict[str, bytes] = field(default_factory=dict)
    licenses: tuple[str, ...] = ("MIT",)
    retired: str | None = None
    published_at: datetime | None = OLD
    variant: str = "ok"  # ok, wrong_checksum, traversal, symlink_escape, bomb, bad_inner
    raw_tarball: bytes | None = None  # serve these exact bytes (a real tarball)


@dataclass
class FakePackage:
    name: str
    releases: list[FakeRelease]
    bad_signature: bool = False
    wrong_name: bool = False


def make_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _bomb_contents() -> bytes:
    """One member claiming 200 MiB of zeros: tiny compressed, over the 128 MiB cap."""
    import gzip

    size = 200 * 2**20
    info = tarfile.TarInfo("lib/bomb.ex")
    info.size = size
    raw = io.BytesIO()
    raw.write(info.tobuf(format=tarfile.USTAR_FORMAT))
    compressor = gzip.GzipFile(fileobj=(out := io.BytesIO()), mode="wb", mtime=0)
    compressor.write(raw.getvalue())
    chunk = b"\0" * 2**20
    for _ in range(size // len(chunk)):
        compressor.write(chunk)
    compressor.write(b"\0" * 1024)
    compressor.close()
    return out.getvalue()


def release_tarball(pkg: str, rel: FakeRelease) -> bytes:
    if rel.raw_tarball is not None:
        return rel.raw_tarball
    files = dict(rel.files) or {"lib/empty.ex": b"defmodule Empty do\nend\n"}
    files.setdefault("mix.exs", f"defmodule {pkg.title()}.MixProject do\nend\n".encode())
    meta = Metadata(
        name=pkg,
        version=rel.version,
        app=pkg,
        description=f"{pkg} fixture",
        licenses=rel.licenses,
        links={"GitHub": f"https://github.com/example/{pkg}"},
        build_tools=("mix",),
        elixir="~> 1.14",
        files=tuple(sorted(files)),
    )
    extra: list[tarfile.TarInfo] = []
    if rel.variant == "traversal":
        files["../../escape.ex"] = b"defmodule Escape do end"
    if rel.variant == "symlink_escape":
        link = tarfile.TarInfo("lib/link.ex")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../etc/passwd"
        extra.append(link)
    contents = _bomb_contents() if rel.variant == "bomb" else build_contents(files, iter(extra))
    checksum = "0" * 64 if rel.variant == "bad_inner" else None
    return build_tarball(format_metadata(meta).encode(), contents, checksum=checksum)


class HexRepo:
    """The repository's state: packages, signed registry bodies, tarballs, faults, counters."""

    def __init__(
        self,
        packages: list[FakePackage],
        *,
        api_limit: int = 100,
        api_window: float = 60.0,
        delay: float = 0.0,
    ) -> None:
        self.private_key, self.public_key = make_key()
        self.api_limit = api_limit
        self.api_window = api_window
        self.delay = delay
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.requests: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.api_throttled = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._window_count = 0
        self.set_packages(packages)

    def set_packages(self, packages: list[FakePackage]) -> None:
        self._etags: dict[str, str] = {}
        self.packages = {p.name: p for p in packages}
        self.tarballs: dict[str, bytes] = {}
        infos = []
        for pkg in sorted(packages, key=lambda p: p.name):
            releases = []
            for rel in pkg.releases:
                data = release_tarball(pkg.name, rel)
                self.tarballs[f"{pkg.name}-{rel.version}"] = data
                outer = hashlib.sha256(data).hexdigest()
                if rel.variant == "wrong_checksum":
                    outer = hashlib.sha256(b"something else").hexdigest()
                releases.append(
                    registry.Release(
                        version=rel.version,
                        inner_checksum="00" * 32,
                        outer_checksum=outer,
                        retired_reason=rel.retired,
                        published_at=rel.published_at,
                    )
                )
            infos.append(registry.PackageInfo(pkg.name, "hexpm", tuple(releases)))
        self.bodies: dict[str, bytes] = {}
        versions = [
            registry.VersionsEntry(
                i.name,
                tuple(r.version for r in i.releases),
                frozenset(n for n, r in enumerate(i.releases) if r.retired_reason),
            )
            for i in infos
        ]
        self.bodies["/versions"] = registry.encode_signed(
            registry.encode_versions(versions), self.private_key
        )
        self.bodies["/names"] = registry.encode_signed(
            registry.encode_names([registry.NameEntry(i.name, OLD) for i in infos]),
            self.private_key,
        )
        for info in infos:
            pkg = self.packages[info.name]
            if pkg.wrong_name:
                info = registry.PackageInfo("someone_else", info.repository, info.releases)
            payload = registry.encode_package(info)
            body = registry.encode_signed(payload, self.private_key)
            if pkg.bad_signature:
                body = registry.encode_signed(payload, make_key()[0])
            self.bodies[f"/packages/{pkg.name}"] = body

    def etag(self, path: str, body: bytes) -> str:
        """The body's ETag, hashed once per path: a CDN does not hash on every answer, and the
        md5 of each tarball was a seventh of this server's CPU in the benchmarks."""
        tag = self._etags.get(path)
        if tag is None:
            tag = self._etags[path] = '"' + hashlib.md5(body).hexdigest() + '"'
        return tag

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def api_admit(self) -> tuple[bool, dict[str, str]]:
        """Fixed window aligned to `api_window`, as hex.pm's plug computes it."""
        with self._lock:
            now = time.time()
            start = now - (now % self.api_window)
            if start != self._window_start:
                self._window_start, self._window_count = start, 0
            self._window_count += 1
            remaining = max(self.api_limit - self._window_count, 0)
            headers = {
                "x-ratelimit-limit": str(self.api_limit),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(int(start + self.api_window)),
            }
            admitted = self._window_count <= self.api_limit
            if not admitted:
                self.api_throttled += 1
            return admitted, headers

    def api_package(self, name: str) -> dict[str, object]:
        pkg = self.packages[name]
        digest = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
        return {
            "name": name,
            "repository": "hexpm",
            "meta": {"description": f"{name} fixture", "licenses": list(pkg.releases[-1].licenses)},
            "downloads": {"all": digest, "recent": digest // 10},
            "releases": [{"version": r.version} for r in reversed(pkg.releases)],
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A CDN answers at once. With Nagle on, the body waits behind the headers for the
    # client's delayed ACK (about 40 ms a response), which capped every test and benchmark.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        repo = self.server.repo
        url = urlparse(self.path)
        path = unquote(url.path)
        with repo._lock:
            repo.requests[path] += 1
            repo.in_flight += 1
            repo.max_in_flight = max(repo.max_in_flight, repo.in_flight)
        try:
            self._serve(repo, path, parse_qs(url.query))
        finally:
            with repo._lock:
                repo.in_flight -= 1

    def _serve(self, repo: HexRepo, path: str, query: dict[str, list[str]]) -> None:
        if repo.delay:
            time.sleep(repo.delay)
        fault = repo.take_fault(path)
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault in ("500", "502", "503"):
            return self._send(int(fault), b"<html>upstream error</html>", "text/html")
        if fault == "slow":
            time.sleep(2.0)
        if path.startswith("/api/"):
            return self._api(repo, path, query)
        body = repo.bodies.get(path)
        if body is None and path.startswith("/tarballs/") and path.endswith(".tar"):
            body = repo.tarballs.get(path[len("/tarballs/") : -len(".tar")])
        if body is None:
            return self._send(403, b"<Error>AccessDenied</Error>", "application/xml")
        etag = repo.etag(path, body)
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", "application/octet-stream", {"etag": etag})
        if fault == "truncate":
            return self._send(200, body, "application/octet-stream", {"etag": etag}, cut=True)
        self._send(200, body, "application/octet-stream", {"etag": etag})

    def _api(self, repo: HexRepo, path: str, query: dict[str, list[str]]) -> None:
        if not self.headers.get("User-Agent"):
            return self._send(
                400, b'{"status":400,"message":"User-Agent header is required"}', "application/json"
            )
        admitted, headers = repo.api_admit()
        if not admitted:
            return self._send(
                429,
                b'{"status":429,"message":"API rate limit exceeded for IP"}',
                "application/json",
                headers,
            )
        if path == "/api/packages":
            page = int((query.get("page") or ["1"])[0] or 1)
            per_page = min(int((query.get("per_page") or ["100"])[0]), 100)
            names = sorted(repo.packages)[(page - 1) * per_page : page * per_page]
            doc: object = [repo.api_package(n) for n in names]
        elif path.startswith("/api/packages/") and path[len("/api/packages/") :] in repo.packages:
            doc = repo.api_package(path[len("/api/packages/") :])
        else:
            return self._send(
                404, b'{"status":404,"message":"Page not found"}', "application/json", headers
            )
        self._send(200, json.dumps(doc).encode(), "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
        cut: bool = False,
    ) -> None:
        with self.server.repo._lock:
            self.server.repo.status_counts[status] += 1
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if status != 304:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, repo: HexRepo, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.repo = repo


class HexServer:
    """Start/stop wrapper: `with HexServer(packages) as server: server.url`."""

    def __init__(self, packages: list[FakePackage], port: int = 0, **repo_kwargs: object) -> None:
        self.repo = HexRepo(packages, **repo_kwargs)  # type: ignore[arg-type]
        self._server = _Server(self.repo, port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def harvest_flags(self, workdir: Path) -> list[str]:
        """Flags pointing `python -m harvest hex` at this server, its key and `workdir`."""
        return harvest_flags(self.url, self.repo.public_key, workdir)

    def __enter__(self) -> HexServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def harvest_flags(url: str, public_key: bytes, workdir: Path) -> list[str]:
    """Flags pointing `python -m harvest hex` at the server at `url` and at `workdir`."""
    key = workdir / "repo_key.pem"
    key.write_bytes(public_key)
    return [
        "--repo-url",
        url,
        "--api-url",
        f"{url}/api",
        "--repo-public-key",
        str(key),
        "--catalog",
        str(workdir / "catalog.duckdb"),
        "--data-dir",
        str(workdir / "data"),
    ]


def demo_packages() -> list[FakePackage]:
    """The bundled offline demo: fixture Elixir packages plus the real gleam_stdlib tarball."""
    packages = []
    for pkg_dir in sorted(p for p in DEMO_PACKAGES.iterdir() if p.is_dir()):
        releases = []
        for ver_dir in sorted(p for p in pkg_dir.iterdir() if p.is_dir()):
            files = {
                str(f.relative_to(ver_dir)): f.read_bytes()
                for f in sorted(ver_dir.rglob("*"))
                if f.is_file()
            }
            license_file = pkg_dir / "LICENSE_ID"
            licenses = (
                tuple(license_file.read_text().split()) if license_file.exists() else ("MIT",)
            )
            releases.append(FakeRelease(ver_dir.name, files, licenses=licenses))
        packages.append(FakePackage(pkg_dir.name, releases))
    real = FIXTURES / "hexpm" / "gleam_stdlib-0.14.0.tar"
    packages.append(
        FakePackage(
            "gleam_stdlib",
            [FakeRelease("0.14.0", raw_tarball=real.read_bytes(), licenses=("Apache-2.0",))],
        )
    )
    return packages


def recent() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key-out", type=Path, help="write the repository public key here")
    args = parser.parse_args()
    with HexServer(demo_packages(), port=args.port) as server:
        if args.key_out:
            args.key_out.write_bytes(server.repo.public_key)
        print(f"serving {len(server.repo.packages)} packages at {server.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
