"""The registry decoder against real hex.pm responses and our own signed encodings."""

from pathlib import Path

import pytest

from harvest.hex import registry
from harvest.hex.errors import BadOrigin, BadSignature, RegistryError
from tests.fakes.hex_server import make_key

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hexpm"


@pytest.fixture(scope="module")
def key() -> bytes:
    return (FIXTURES / "hexpm_public_key.pem").read_bytes()


def test_real_versions_2021_verifies_and_counts(key: bytes) -> None:
    entries = registry.decode_versions((FIXTURES / "versions-2021.signed.gz").read_bytes(), key)
    assert len(entries) == 11_454
    assert sum(len(e.versions) for e in entries) == 70_684
    names = {e.name for e in entries}
    assert {"addressBook", "yEnc"} <= names  # case is kept


def test_real_versions_2020_counts(key: bytes) -> None:
    entries = registry.decode_versions((FIXTURES / "versions-2020.signed.gz").read_bytes(), key)
    assert (len(entries), sum(len(e.versions) for e in entries)) == (10_147, 59_372)


def test_real_package_exfmt(key: bytes) -> None:
    info = registry.decode_package(
        (FIXTURES / "package-exfmt.signed.gz").read_bytes(), key, "exfmt"
    )
    assert (info.name, info.repository, len(info.releases)) == ("exfmt", "hexpm", 10)
    assert all(len(r.outer_checksum or "") == 64 for r in info.releases)


def test_built_in_key_is_the_hexpm_key(key: bytes) -> None:
    assert registry.hexpm_public_key() == key


def test_tampered_payload_is_rejected(key: bytes) -> None:
    import gzip

    from harvest.hex.proto import registry_pb2 as pb

    signed = pb.Signed()
    signed.ParseFromString(gzip.decompress((FIXTURES / "package-exfmt.signed.gz").read_bytes()))
    signed.payload = signed.payload.replace(b"0.5.0", b"0.5.1")
    with pytest.raises(BadSignature):
        registry.decode_package(signed.SerializeToString(), key, "exfmt")


def test_wrong_package_name_is_rejected(key: bytes) -> None:
    with pytest.raises(BadOrigin):
        registry.decode_package((FIXTURES / "package-exfmt.signed.gz").read_bytes(), key, "other")


def test_wrong_repository_is_rejected() -> None:
    private, public = make_key()
    body = registry.encode_signed(registry.encode_versions([], repository="evil"), private)
    with pytest.raises(BadOrigin):
        registry.decode_versions(body, public)


def test_signature_from_another_key_is_rejected() -> None:
    private, _ = make_key()
    _, other_public = make_key()
    body = registry.encode_signed(registry.encode_versions([]), private)
    with pytest.raises(BadSignature):
        registry.decode_versions(body, other_public)


def test_garbage_is_a_registry_error(key: bytes) -> None:
    with pytest.raises(RegistryError):
        registry.decode_versions(b"\x1f\x8bnot gzip at all", key)


def test_encode_decode_round_trip() -> None:
    private, public = make_key()
    info = registry.PackageInfo(
        "demo",
        "hexpm",
        (
            registry.Release(
                "1.0.0",
                "ab" * 32,
                "cd" * 32,
                (registry.Dependency("jason", "~> 1.0", True, None, None),),
                "security",
                "CVE",
                None,
            ),
        ),
    )
    decoded = registry.decode_package(
        registry.encode_signed(registry.encode_package(info), private), public, "demo"
    )
    assert decoded == info
