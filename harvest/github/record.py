"""Catalog writes of the GitHub harvester: a repository's rows always commit together.

A repository's `github_repos` row and its `source_files` rows are one RepoWrite, committed after
its blobs are in the store, so a crash leaves either the finished repository or nothing (blobs
written before the crash are reused on the rerun).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harvest.catalog import Catalog, Column, SourceFile, execute_over, replace_source_files
from harvest.github.graphql import RepoInfo

_REPO_COLUMNS = (
    "id",
    "database_id",
    "name_with_owner",
    "url",
    "description",
    "stars",
    "forks",
    "is_fork",
    "is_archived",
    "is_mirror",
    "is_template",
    "is_empty",
    "license_spdx",
    "license_key",
    "license_permissive",
    "default_branch",
    "commit_oid",
    "committed_at",
    "created_at",
    "pushed_at",
    "disk_usage_kb",
    "primary_language",
    "topics",
    "status",
    "error",
    "files_kept",
    "tarball_bytes",
    "updated_at",
)
# Columns that describe the repository now; refreshed even when its commit is unchanged.
_METADATA = (
    "name_with_owner",
    "url",
    "description",
    "stars",
    "forks",
    "is_archived",
    "is_mirror",
    "is_template",
    "license_spdx",
    "license_key",
    "license_permissive",
    "pushed_at",
    "disk_usage_kb",
    "primary_language",
    "topics",
    "updated_at",
)


# DuckDB types of the github_repos columns that are not VARCHAR.
_REPO_TYPES: dict[str, str] = {
    "database_id": "BIGINT",
    "stars": "INTEGER",
    "forks": "INTEGER",
    "disk_usage_kb": "BIGINT",
    "files_kept": "INTEGER",
    "tarball_bytes": "BIGINT",
    "topics": "VARCHAR[]",
    **{
        c: "BOOLEAN"
        for c in (
            "is_fork",
            "is_archived",
            "is_mirror",
            "is_template",
            "is_empty",
            "license_permissive",
        )
    },
    **{c: "TIMESTAMP" for c in ("committed_at", "created_at", "pushed_at", "updated_at")},
}


def _repo_columns(writes: Sequence[RepoWrite], columns: Sequence[str]) -> dict[str, Column]:
    return {c: (_REPO_TYPES.get(c, "VARCHAR"), [w.row[c] for w in writes]) for c in columns}


@dataclass(frozen=True)
class KeptFile:
    path: str
    sha256: str
    size: int


def _utc(moment: datetime | None) -> datetime | None:
    """DuckDB TIMESTAMP is naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def repo_row(
    repo: RepoInfo,
    status: str,
    error: str | None,
    files_kept: int | None,
    tarball_bytes: int | None,
) -> dict[str, Any]:
    return {
        "id": repo.id,
        "database_id": repo.database_id,
        "name_with_owner": repo.name_with_owner,
        "url": repo.url,
        "description": repo.description,
        "stars": repo.stars,
        "forks": repo.forks,
        "is_fork": repo.is_fork,
        "is_archived": repo.is_archived,
        "is_mirror": repo.is_mirror,
        "is_template": repo.is_template,
        "is_empty": repo.is_empty,
        "license_spdx": repo.license_spdx,
        "license_key": repo.license_key,
        "license_permissive": repo.license_permissive,
        "default_branch": repo.default_branch,
        "commit_oid": repo.commit_oid,
        "committed_at": _utc(repo.committed_at),
        "created_at": _utc(repo.created_at),
        "pushed_at": _utc(repo.pushed_at),
        "disk_usage_kb": repo.disk_usage_kb,
        "primary_language": repo.primary_language,
        "topics": list(repo.topics),
        "status": status,
        "error": error,
        "files_kept": files_kept,
        "tarball_bytes": tarball_bytes,
        "updated_at": datetime.now(UTC).replace(tzinfo=None),
    }


@dataclass(frozen=True)
class RepoWrite:
    """All rows of one repository; `refresh` updates metadata of an unchanged repository."""

    row: dict[str, Any]
    files: tuple[KeptFile, ...] = ()
    refresh: bool = False


def repo_write(
    repo: RepoInfo,
    status: str,
    error: str | None = None,
    files: list[KeptFile] | None = None,
    tarball_bytes: int | None = None,
) -> RepoWrite:
    row = repo_row(repo, status, error, len(files) if files is not None else None, tarball_bytes)
    return RepoWrite(row, tuple(files or ()))


def refresh_write(repo: RepoInfo) -> RepoWrite:
    return RepoWrite(repo_row(repo, "fetched", None, None, None), refresh=True)


def _kept_files(writes: Sequence[RepoWrite]) -> list[SourceFile]:
    return [
        (
            w.row["name_with_owner"],
            w.row["commit_oid"],
            f.path,
            f.sha256,
            f.size,
            w.row["license_spdx"],
        )
        for w in writes
        for f in w.files
    ]


class Recorder:
    """The only SQL the GitHub harvester runs."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def fetched_commits(self) -> dict[str, str]:
        """Repository id -> commit whose files are already recorded."""
        rows = self.catalog.fetchall(
            "SELECT id, commit_oid FROM github_repos WHERE status = 'fetched'"
        )
        return {rid: oid for rid, oid in rows if oid}

    def apply(self, writes: Sequence[RepoWrite]) -> None:
        """Write a group of repositories in one transaction, one statement per table.

        A repository's rows are never split across transactions, so it is never half
        recorded; a crash loses at most the uncommitted group, which the rerun redoes.
        Per-row INSERTs cost milliseconds each in DuckDB; list-parameter batches (execute_over)
        cost microseconds.
        """
        latest = {w.row["id"]: w for w in writes}  # a repository seen twice: keep the last
        full = [w for w in latest.values() if not w.refresh]
        fresh = [w for w in latest.values() if w.refresh]
        columns = ", ".join(_REPO_COLUMNS)
        with self.catalog.transaction() as con:
            if full:
                execute_over(
                    con,
                    "repo_batch",
                    _repo_columns(full, _REPO_COLUMNS),
                    f"INSERT OR REPLACE INTO github_repos ({columns}) "
                    f"SELECT {columns} FROM repo_batch",
                )
                replace_source_files(
                    con,
                    "github",
                    [(w.row["name_with_owner"], w.row["commit_oid"]) for w in full],
                    _kept_files(full),
                )
            if fresh:
                assignments = ", ".join(f"{c} = b.{c}" for c in _METADATA)
                execute_over(
                    con,
                    "fresh_batch",
                    _repo_columns(fresh, ("id", *_METADATA)),
                    f"UPDATE github_repos SET {assignments} FROM fresh_batch b "
                    "WHERE github_repos.id = b.id",
                )

    def start_run(self, settings: dict[str, Any]) -> str:
        run_id = f"github-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self.catalog.transaction() as con:
            con.execute(
                "INSERT INTO crawl_runs (run_id, command, started_at, status, settings) "
                "VALUES (?, 'harvest github', ?, 'running', ?)",
                [run_id, datetime.now(UTC).replace(tzinfo=None), json.dumps(settings, default=str)],
            )
        return run_id

    def finish_run(self, run_id: str, status: str, counts: dict[str, Any]) -> None:
        with self.catalog.transaction() as con:
            con.execute(
                "UPDATE crawl_runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
                [datetime.now(UTC).replace(tzinfo=None), status, json.dumps(counts), run_id],
            )
