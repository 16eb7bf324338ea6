"""Catalog writes of the GitHub harvester: one transaction per repository.

A repository's `github_repos` row and its `source_files` rows commit together, after its
blobs are in the store, so a crash leaves either the finished repository or nothing (blobs
written before the crash are reused on the rerun).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harvest.catalog import Catalog
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

    def record(
        self,
        repo: RepoInfo,
        status: str,
        error: str | None = None,
        files: list[KeptFile] | None = None,
        tarball_bytes: int | None = None,
    ) -> None:
        """Write the repository and its files in one transaction."""
        row = repo_row(
            repo, status, error, len(files) if files is not None else None, tarball_bytes
        )
        placeholders = ", ".join("?" for _ in _REPO_COLUMNS)
        with self.catalog.transaction() as con:
            con.execute(
                f"INSERT OR REPLACE INTO github_repos ({', '.join(_REPO_COLUMNS)}) "
                f"VALUES ({placeholders})",
                [row[c] for c in _REPO_COLUMNS],
            )
            if files:
                con.executemany(
                    "INSERT OR REPLACE INTO source_files "
                    "(source, origin, origin_version, path, sha256, bytes, license) "
                    "VALUES ('github', ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            repo.name_with_owner,
                            repo.commit_oid,
                            f.path,
                            f.sha256,
                            f.size,
                            repo.license_spdx,
                        ]
                        for f in files
                    ],
                )

    def refresh(self, repo: RepoInfo) -> None:
        """Update what changes without a new commit (stars, licence, flags)."""
        row = repo_row(repo, "fetched", None, None, None)
        assignments = ", ".join(f"{c} = ?" for c in _METADATA)
        with self.catalog.transaction() as con:
            con.execute(
                f"UPDATE github_repos SET {assignments} WHERE id = ?",
                [*(row[c] for c in _METADATA), repo.id],
            )

    def start_run(self, settings: dict[str, Any]) -> str:
        run_id = uuid.uuid4().hex
        with self.catalog.transaction() as con:
            con.execute(
                "INSERT INTO crawl_runs (run_id, command, started_at, status, settings) "
                "VALUES (?, 'github', ?, 'running', ?)",
                [run_id, datetime.now(UTC).replace(tzinfo=None), json.dumps(settings, default=str)],
            )
        return run_id

    def finish_run(self, run_id: str, status: str, counts: dict[str, Any]) -> None:
        with self.catalog.transaction() as con:
            con.execute(
                "UPDATE crawl_runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
                [datetime.now(UTC).replace(tzinfo=None), status, json.dumps(counts), run_id],
            )
