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
    """A tarball that fails a check; it is quarantined with `reason`.

    Raised and handled inside a release worker process; picklable with its reason intact.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")

    def __reduce__(self) -> tuple[type[TarballError], tuple[str, str]]:
        return TarballError, (self.reason, self.detail)


class MetadataError(TarballError):
    def __init__(self, detail: str) -> None:
        super().__init__("bad_metadata", detail)

    def __reduce__(self) -> tuple[type[MetadataError], tuple[str]]:  # type: ignore[override]
        return MetadataError, (self.detail,)
