"""The signed protobuf registry: decode and verify (`decode_*`), and encode and sign (`encode_*`).

Pure: bytes in, dataclasses out. Verification follows registry-v2: gunzip, `Signed` envelope,
RSA PKCS#1 v1.5 over SHA-512 of the payload, then the origin (`repository`, package `name`),
which Hex added against malicious mirrors.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.protobuf.message import DecodeError

from harvest.hex.errors import BadOrigin, BadSignature, RegistryError
from harvest.hex.proto import registry_pb2 as pb

RETIREMENT_REASONS = {0: "other", 1: "invalid", 2: "security", 3: "deprecated", 4: "renamed"}
GZIP_MAGIC = b"\x1f\x8b"


def hexpm_public_key() -> bytes:
    """The hex.pm repository key, pinned in the package (unchanged since 2016)."""
    return resources.files("harvest.hex").joinpath("hexpm_public_key.pem").read_bytes()


@dataclass(frozen=True, slots=True)
class NameEntry:
    name: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class VersionsEntry:
    name: str
    versions: tuple[str, ...]
    retired: frozenset[int] = frozenset()

    @property
    def retired_versions(self) -> tuple[str, ...]:
        return tuple(v for i, v in enumerate(self.versions) if i in self.retired)


@dataclass(frozen=True)
class Dependency:
    package: str
    requirement: str
    optional: bool = False
    app: str | None = None
    repository: str | None = None


@dataclass(frozen=True)
class Release:
    version: str
    inner_checksum: str
    outer_checksum: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    retired_reason: str | None = None
    retired_message: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class PackageInfo:
    name: str
    repository: str
    releases: tuple[Release, ...] = field(default_factory=tuple)


def _unwrap(body: bytes, public_key_pem: bytes) -> bytes:
    """Gunzip (if gzipped), decode `Signed`, verify the signature; return the payload."""
    try:
        raw = gzip.decompress(body) if body[:2] == GZIP_MAGIC else body
    except (OSError, EOFError) as exc:
        raise RegistryError(f"registry body is not valid gzip: {exc}") from exc
    signed = pb.Signed()
    try:
        signed.ParseFromString(raw)
    except DecodeError as exc:
        raise RegistryError(f"registry body is not a Signed message: {exc}") from exc
    verify_signature(signed.payload, signed.signature, public_key_pem)
    return signed.payload


@functools.lru_cache(maxsize=4)
def _public_key(public_key_pem: bytes) -> rsa.RSAPublicKey:
    """Parsed once per key: loading the PEM cost more than the verification itself."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise RegistryError("registry public key is not an RSA key")
    return key


def verify_signature(payload: bytes, signature: bytes, public_key_pem: bytes) -> None:
    key = _public_key(public_key_pem)
    try:
        key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA512())
    except InvalidSignature:
        raise BadSignature("registry signature does not verify with the configured key") from None


def _parse(message: pb.Message, payload: bytes, what: str) -> None:  # type: ignore[name-defined]
    try:
        message.ParseFromString(payload)
    except DecodeError as exc:
        raise RegistryError(f"{what} payload does not decode: {exc}") from exc


def _check_repository(actual: str, expected: str, what: str) -> None:
    if actual != expected:
        raise BadOrigin(f"{what} claims repository {actual!r}, expected {expected!r}")


def _timestamp(ts: pb.Timestamp | None) -> datetime | None:  # type: ignore[name-defined]
    if ts is None:
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, UTC).replace(tzinfo=None)


def decode_names(body: bytes, public_key_pem: bytes, repository: str = "hexpm") -> list[NameEntry]:
    names = pb.Names()
    _parse(names, _unwrap(body, public_key_pem), "/names")
    _check_repository(names.repository, repository, "/names")
    return [
        NameEntry(p.name, _timestamp(p.updated_at) if p.HasField("updated_at") else None)
        for p in names.packages
    ]


def decode_versions(
    body: bytes, public_key_pem: bytes, repository: str = "hexpm"
) -> list[VersionsEntry]:
    """>>> len(decode_versions(open('versions-2021.signed.gz','rb').read(), key))  # 11454"""
    versions = pb.Versions()
    _parse(versions, _unwrap(body, public_key_pem), "/versions")
    _check_repository(versions.repository, repository, "/versions")
    # A crawl holds the whole index. Most version strings repeat ("0.1.0" thousands of times):
    # one shared copy of each takes the 2021 index (11,454 packages) from 8.8 to 2.0 MB.
    shared: dict[str, str] = {}
    none: frozenset[int] = frozenset()
    return [
        VersionsEntry(
            p.name,
            tuple([shared.setdefault(v, v) for v in p.versions]),
            frozenset(p.retired) if p.retired else none,
        )
        for p in versions.packages
    ]


def decode_package(
    body: bytes, public_key_pem: bytes, name: str, repository: str = "hexpm"
) -> PackageInfo:
    package = pb.Package()
    _parse(package, _unwrap(body, public_key_pem), f"/packages/{name}")
    _check_repository(package.repository, repository, f"/packages/{name}")
    if package.name != name:
        raise BadOrigin(f"/packages/{name} claims to be package {package.name!r}")
    return PackageInfo(
        package.name, package.repository, tuple(_release(r) for r in package.releases)
    )


def _release(r: pb.Release) -> Release:  # type: ignore[name-defined]
    retired = r.retired if r.HasField("retired") else None
    return Release(
        version=r.version,
        inner_checksum=r.inner_checksum.hex(),
        outer_checksum=r.outer_checksum.hex() if r.HasField("outer_checksum") else None,
        dependencies=tuple(
            Dependency(
                d.package,
                d.requirement,
                d.optional,
                d.app if d.HasField("app") else None,
                d.repository if d.HasField("repository") else None,
            )
            for d in r.dependencies
        ),
        retired_reason=RETIREMENT_REASONS.get(retired.reason, "other") if retired else None,
        retired_message=(retired.message or None) if retired else None,
        published_at=_timestamp(r.published_at) if r.HasField("published_at") else None,
    )


# -- encoding: used by the loopback test server and the offline demo --------------------------


@functools.lru_cache(maxsize=4)
def _private_key(private_key_pem: bytes) -> rsa.RSAPrivateKey:
    """Parsed once per key: loading a PEM private key checks the key and costs ~30 ms, which
    made building a test or benchmark repository spend most of its time re-reading one key."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RegistryError("signing key is not an RSA private key")
    return key


def sign_payload(payload: bytes, private_key_pem: bytes) -> bytes:
    return _private_key(private_key_pem).sign(payload, padding.PKCS1v15(), hashes.SHA512())


def encode_signed(payload: bytes, private_key_pem: bytes) -> bytes:
    """Sign `payload` and wrap it as a gzipped `Signed` body, as the repository serves it."""
    signed = pb.Signed(payload=payload, signature=sign_payload(payload, private_key_pem))
    return gzip.compress(signed.SerializeToString(), mtime=0)


def encode_names(entries: list[NameEntry], repository: str = "hexpm") -> bytes:
    msg = pb.Names(repository=repository)
    for entry in entries:
        p = msg.packages.add(name=entry.name)
        if entry.updated_at is not None:
            seconds = int(entry.updated_at.replace(tzinfo=UTC).timestamp())
            p.updated_at.seconds = seconds
            p.updated_at.nanos = 0
    return msg.SerializeToString()


def encode_versions(entries: list[VersionsEntry], repository: str = "hexpm") -> bytes:
    msg = pb.Versions(repository=repository)
    for entry in entries:
        msg.packages.add(name=entry.name, versions=entry.versions, retired=sorted(entry.retired))
    return msg.SerializeToString()


def encode_package(info: PackageInfo) -> bytes:
    msg = pb.Package(name=info.name, repository=info.repository)
    reasons = {v: k for k, v in RETIREMENT_REASONS.items()}
    for rel in info.releases:
        r = msg.releases.add(version=rel.version, inner_checksum=bytes.fromhex(rel.inner_checksum))
        if rel.outer_checksum:
            r.outer_checksum = bytes.fromhex(rel.outer_checksum)
        for d in rel.dependencies:
            dep = r.dependencies.add(
                package=d.package, requirement=d.requirement, optional=d.optional
            )
            if d.app:
                dep.app = d.app
            if d.repository:
                dep.repository = d.repository
        if rel.retired_reason:
            r.retired.reason = reasons[rel.retired_reason]
            if rel.retired_message:
                r.retired.message = rel.retired_message
        if rel.published_at:
            r.published_at.seconds = int(rel.published_at.replace(tzinfo=UTC).timestamp())
            r.published_at.nanos = 0
    return msg.SerializeToString()
