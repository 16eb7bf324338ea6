"""`python -m harvest github`: find every qualifying Elixir repository and store its sources."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from harvest.cli import CommandError
from harvest.github.config import GitHubSettings
from harvest.github.crawl import CrawlResult, harvest_github
from harvest.github.errors import AuthError, GitHubError
from harvest.progress import print_summary
from harvest.settings import add_model_flags, load_settings, overrides_from_args

HELP = "crawl GitHub for Elixir repositories (GraphQL search past the 1,000-result cap)"
TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_CONFIG = Path("configs/github.yaml")
log = logging.getLogger("elixir_harvest.github")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="YAML",
        help=f"YAML settings (default {DEFAULT_CONFIG} if present); flags win over it",
    )
    add_model_flags(parser, GitHubSettings)


def read_token(environ: Mapping[str, str] = os.environ) -> SecretStr:
    """The token from the environment only; GraphQL has no anonymous mode to fall back to."""
    value = environ.get(TOKEN_ENV, "").strip()
    if not value:
        raise CommandError(
            f"{TOKEN_ENV} is not set; GitHub's GraphQL API refuses unauthenticated calls. "
            "Create a fine-grained personal access token (no extra permissions are needed for "
            f"public repositories) and export {TOKEN_ENV}=..."
        )
    return SecretStr(value)


def run(args: argparse.Namespace) -> int:
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    settings = load_settings(GitHubSettings, config, overrides_from_args(args, GitHubSettings))
    token = read_token()
    started = time.monotonic()
    try:
        result = asyncio.run(harvest_github(settings, token))
    except AuthError as exc:
        raise CommandError(
            f"GitHub rejected {TOKEN_ENV} ({exc}); check or renew the token"
        ) from None
    except GitHubError as exc:
        raise CommandError(str(exc)) from None
    print_summary("harvest github", summary_rows(result, time.monotonic() - started))
    _warn_if_incomplete(result, settings)
    if result.counts["failed"]:
        log.warning(
            "%d repositories failed (see github_repos.error); rerun to retry them",
            result.counts["failed"],
        )
        return 1
    return 0


def summary_rows(result: CrawlResult, seconds: float) -> dict[str, Any]:
    search = result.search
    assert search is not None
    stats, counts = search.stats, result.counts
    rows: dict[str, Any] = {
        "search total (repositoryCount)": stats.total,
        "search parts": stats.parts,
        "repositories seen": stats.unique,
        "qualifying": counts["found"],
        "fetched": counts["fetched"],
        "unchanged (same commit)": counts["unchanged"],
        "skipped": counts["skipped"],
        "failed": counts["failed"],
        "files kept": counts["files_kept"],
        "files already stored": counts["files_already_stored"],
    }
    rows.update({k: v for k, v in counts.items() if k.startswith(("failed: ", "skipped: "))})
    rows.update({f"rejected: {k}": v for k, v in stats.rejected.items()})
    budget = search.api.budget
    rows.update(
        {
            "GraphQL requests": budget.requests,
            "GraphQL points spent": budget.points_spent,
            "GraphQL points remaining": budget.remaining or 0,
            "secondary-limit refusals": budget.refusals,
            "rate-limit exhaustions": budget.exhaustions,
            "seconds waited for limits": round(budget.waited, 1),
            "wall seconds": round(seconds, 1),
        }
    )
    return rows


def _warn_if_incomplete(result: CrawlResult, settings: GitHubSettings) -> None:
    stats = result.search.stats if result.search else None
    if stats is None or settings.limit is not None:
        return
    if stats.stuck_parts:
        log.warning("%d search parts stayed over the 1,000-result cap", stats.stuck_parts)
    if stats.unique < stats.total:
        log.warning(
            "search reported %d repositories but %d were reachable; stars may have "
            "moved during the crawl, rerun to pick up the rest",
            stats.total,
            stats.unique,
        )
