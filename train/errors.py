"""Errors of the train package; TrainError is shown to the user as one line."""

from __future__ import annotations

from harvest.cli import CommandError


class TrainError(CommandError):
    """A training, merge, export or eval failure the user can act on."""


class BaseModelMissing(TrainError):
    """The base model (or tokenizer) cannot be found or read."""
