"""Settings of `python -m harvest github` (defaults < configs/github.yaml < flags)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PUBLIC_GRAPHQL_URL = "https://api.github.com/graphql"


class GitHubSettings(BaseModel):
    """Field descriptions double as `--help` text."""

    model_config = ConfigDict(extra="forbid")

    min_stars: int = Field(100, ge=0, description="keep repositories with at least this many stars")
    max_stars: int | None = Field(None, ge=0, description="and at most this many stars")
    pushed_after: date | None = Field(None, description="only repositories pushed after DATE")
    include_forks: bool = Field(False, description="also crawl forks")
    include_archived: bool = Field(False, description="also crawl archived repositories")
    license: list[str] = Field(
        default_factory=list,
        description="fetch sources only for these SPDX ids (comma-separated); default: fetch "
        "all and mark permissive ones in github_repos.license_permissive",
    )
    fetch_sources: bool = Field(
        True,
        description="download each pinned commit's tarball and record its Elixir files; "
        "--no-fetch-sources records metadata only (status skipped, error metadata_only)",
    )
    limit: int | None = Field(None, ge=1, description="stop after this many repositories")
    api_url: str = Field(PUBLIC_GRAPHQL_URL, description="GraphQL endpoint")
    catalog: Path = Field(Path("catalog.duckdb"), description="DuckDB catalog file")
    data_dir: Path = Field(Path("data"), description="blob store and temp files live here")
    concurrency: int = Field(4, ge=1, le=32, description="parallel tarball downloads")
    graphql_concurrency: int = Field(
        2, ge=1, le=4, description="parallel GraphQL requests (GitHub advises few)"
    )
    page_size: int = Field(100, ge=1, le=100, description="search results per GraphQL page")
    max_tarball_mb: int = Field(256, ge=1, description="skip tarballs larger than this")
    codeload_429_limit: int = Field(
        5,
        ge=1,
        description="after this many 429s in a row from codeload, stop downloading for "
        "this run (its cooldown is about 30 minutes); the rest are retried by the next run",
    )
    max_disk_usage_mb: int = Field(
        2048, ge=1, description="skip repositories GitHub reports larger than this"
    )
    created_since: date = Field(
        date(2007, 10, 1), description="earliest creation date searched (GitHub opened 2008)"
    )

    @model_validator(mode="after")
    def _star_range(self) -> GitHubSettings:
        if self.max_stars is not None and self.max_stars < self.min_stars:
            raise ValueError(f"max_stars {self.max_stars} is below min_stars {self.min_stars}")
        return self

    @field_validator("license", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [p.strip() for item in value for p in str(item).split(",") if p.strip()]
        return value
