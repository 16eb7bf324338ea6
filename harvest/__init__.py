"""Crawlers that mirror Elixir source from Hex.pm and GitHub into a content-addressed store."""

__version__ = "0.1.0"
