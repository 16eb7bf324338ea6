"""Errors of the snapshot commands; each is a user-facing CommandError with a clear message."""

from __future__ import annotations

from harvest.cli import CommandError


class SnapshotError(CommandError):
    """A snapshot cannot be built, found or read."""


class SnapshotExists(SnapshotError):
    """The version is already taken; snapshots are immutable."""


class VerifyFailed(SnapshotError):
    """A shard or the manifest differs from what was recorded."""
