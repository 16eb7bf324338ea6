"""Failures specific to Hex resources; each maps to a release status in the catalog."""

from __future__ import annotations


class HexError(Exception):
    """Base of the Hex error tree."""


class RegistryError(HexError):
    """A registry resource that must not be trusted (hard error for that resource)."""


class BadSignature(RegistryError):
    pass


class BadOrigin(RegistryError):
    pass


class TarballError(HexError):
    """A tarball that fails a check; it is quarantined with `reason`."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class MetadataError(TarballError):
    def __init__(self, detail: str) -> None:
        super().__init__("bad_metadata", detail)
