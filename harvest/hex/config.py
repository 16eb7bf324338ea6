"""Settings for `python -m harvest hex`: defaults and help live here, once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_url: str = Field(
        "https://repo.hex.pm",
        description="Hex repository (registry and tarballs); HEX_MIRROR also sets it",
    )
    api_url: str = Field(
        "https://hex.pm/api", description="Hex HTTP API, used only for download counts"
    )
    repo_public_key: Path | None = Field(
        None, description="PEM key registry signatures are checked with (hex.pm's is built in)"
    )
    repository: str = Field("hexpm", description="repository name the registry must claim")
    catalog: Path = Field(Path("catalog.duckdb"), description="DuckDB catalog file")
    data_dir: Path = Field(Path("data"), description="blob store, tarballs and quarantine")
    releases: Literal["latest-stable", "all"] = Field(
        "latest-stable", description="which releases of each package to mirror"
    )
    package: list[str] = Field(default_factory=list, description="only this package (repeatable)")
    limit: int | None = Field(None, ge=1, description="at most this many packages")
    concurrency: int = Field(8, ge=1, le=64, description="parallel tarball downloads")
    registry_concurrency: int = Field(
        8, ge=1, le=16, description="parallel /packages/NAME fetches, running ahead of downloads"
    )
    unpack_processes: int | None = Field(
        None,
        ge=1,
        le=32,
        description="worker processes that download, check and unpack tarballs "
        "(default: cores - 1, 1-4)",
    )
    api_budget: int = Field(
        90, ge=1, description="API requests per minute (never above the server's advertised limit)"
    )
    api_extras: bool = Field(True, description="fetch download counts from the API")
    min_age_minutes: int = Field(
        60, ge=0, description="ingest only releases published at least this long ago"
    )
    keep_tarballs: bool = Field(True, description="keep verified tarballs under data/tarballs")
    timeout: float = Field(60.0, gt=0, description="seconds per HTTP request")
    retries: int = Field(6, ge=1, description="tries per request on 5xx, timeouts and resets")
    max_tarball_bytes: int = Field(16 * 2**20, ge=1, description="tarball size cap")
    max_contents_bytes: int = Field(
        128 * 2**20, ge=1, description="uncompressed contents cap (decompression bombs)"
    )

    @field_validator("repo_url", "api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("package")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name or "/" in name or name.startswith("."):
                raise ValueError(f"{name!r} is not a Hex package name")
        return value
