"""A seeded population of fake GitHub repositories and the search qualifiers that select them.

The population is the ground truth for tests: `qualifying()` says which repositories a crawl
must find, independently of the crawler's own filtering. Stars are long-tailed (Pareto), and
the mix includes forks, archived repositories, mirrors, templates, empty repositories (null
default branch), null and NOASSERTION licences, and Phoenix-style repositories whose primary
language is not Elixir but which `language:elixir` still matches.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

EPOCH_START = datetime(2011, 1, 1, tzinfo=UTC)
EPOCH_END = datetime(2026, 6, 1, tzinfo=UTC)
LICENSES: list[tuple[str | None, str | None]] = [
    ("MIT", "mit"),
    ("Apache-2.0", "apache-2.0"),
    ("BSD-3-Clause", "bsd-3-clause"),
    ("GPL-3.0", "gpl-3.0"),
    ("NOASSERTION", "other"),
    (None, None),
]
LICENSE_WEIGHTS = [40, 25, 5, 5, 10, 15]


@dataclass
class FakeRepo:
    """One repository; field names follow GraphQL where they are served as-is."""

    number: int
    owner: str
    name: str
    stars: int
    forks: int
    is_fork: bool
    is_archived: bool
    is_mirror: bool
    is_template: bool
    is_empty: bool
    languages: list[str]
    license_spdx: str | None
    license_key: str | None
    created_at: datetime
    pushed_at: datetime
    topics: list[str]
    malicious: str | None = None  # None, "traversal" or "symlink"
    revision: int = 0  # bump to move the default branch to a new commit
    indexed_stars: int | None = None  # what the search index still believes (star drift)

    @property
    def search_stars(self) -> int:
        return self.stars if self.indexed_stars is None else self.indexed_stars

    @property
    def node_id(self) -> str:
        return f"R_fake{self.number:07d}"

    @property
    def name_with_owner(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def primary_language(self) -> str | None:
        return self.languages[0] if self.languages else None

    @property
    def commit_oid(self) -> str | None:
        if self.is_empty:
            return None
        seed = f"{self.name_with_owner}@{self.revision}".encode()
        return hashlib.sha1(seed).hexdigest()


@dataclass
class Population:
    repos: list[FakeRepo]
    by_name: dict[str, FakeRepo] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {r.name_with_owner.lower(): r for r in self.repos}

    def qualifying(
        self,
        min_stars: int = 100,
        *,
        max_stars: int | None = None,
        include_forks: bool = False,
        include_archived: bool = False,
        pushed_after: date | None = None,
    ) -> set[str]:
        """Names of the Elixir repositories a crawl with these options must record."""
        return {
            r.name_with_owner
            for r in self.repos
            if "Elixir" in r.languages
            and r.stars >= min_stars
            and (max_stars is None or r.stars <= max_stars)
            and (include_forks or not r.is_fork)
            and (include_archived or not r.is_archived)
            and (pushed_after is None or r.pushed_at.date() > pushed_after)
        }


def make_population(
    total: int = 3000,
    qualifying: int = 450,
    *,
    min_stars: int = 100,
    pile: int = 0,
    seed: int = 7,
) -> Population:
    """`qualifying` non-fork, non-archived Elixir repos with >= `min_stars`, the rest not.

    `pile` of the qualifying repos get exactly `min_stars` stars, so one star value holds more
    than the 1,000-result cap and the crawler must split by creation date.
    """
    rng = random.Random(seed)
    repos = [_qualifying_repo(rng, i, min_stars, i < pile) for i in range(qualifying)]
    repos += [_other_repo(rng, i, min_stars) for i in range(qualifying, total)]
    rng.shuffle(repos)
    return Population(repos)


def _base(rng: random.Random, number: int, stars: int) -> FakeRepo:
    created = EPOCH_START + timedelta(
        seconds=rng.randrange(int((EPOCH_END - EPOCH_START).total_seconds()))
    )
    pushed = created + timedelta(
        seconds=rng.randrange(int((EPOCH_END - created).total_seconds()) + 1)
    )
    spdx, key = rng.choices(LICENSES, LICENSE_WEIGHTS)[0]
    return FakeRepo(
        number=number,
        owner=f"owner{number % 997}",
        name=f"repo_{number}",
        stars=stars,
        forks=stars // 10 + rng.randrange(5),
        is_fork=False,
        is_archived=False,
        is_mirror=rng.random() < 0.01,
        is_template=rng.random() < 0.01,
        is_empty=rng.random() < 0.02,
        languages=["Elixir"],
        license_spdx=spdx,
        license_key=key,
        created_at=created,
        pushed_at=pushed,
        topics=rng.sample(["elixir", "phoenix", "otp", "ecto", "nerves", "liveview"], 2),
    )


def _tail_stars(rng: random.Random, floor: int) -> int:
    """Pareto(alpha=1.1) above `floor`: most near it, a few with tens of thousands."""
    return min(int(floor * rng.paretovariate(1.1)), 80_000)


def _qualifying_repo(rng: random.Random, number: int, min_stars: int, piled: bool) -> FakeRepo:
    repo = _base(rng, number, min_stars if piled else _tail_stars(rng, min_stars))
    if rng.random() < 0.08:
        repo.languages = ["JavaScript", "Elixir", "CSS"]  # a Phoenix app with heavy assets
    elif rng.random() < 0.3:
        repo.languages = ["Elixir", "Erlang"]
    return repo


def _other_repo(rng: random.Random, number: int, min_stars: int) -> FakeRepo:
    """Something a correct `--min-stars` crawl must not record."""
    kind = rng.random()
    if kind < 0.70:
        return _base(rng, number, rng.randrange(min_stars))  # too few stars
    repo = _base(rng, number, _tail_stars(rng, min_stars))
    if kind < 0.82:
        repo.is_fork = True
    elif kind < 0.92:
        repo.is_archived = True
    else:
        repo.languages = [rng.choice(["Rust", "Go", "Erlang"])]
    return repo


# ---- search qualifiers ---------------------------------------------------------------------

Predicate = Callable[[FakeRepo], bool]
_RANGE = re.compile(r"^(>=|<=|>|<)?(.+)$")


def _parse_time(text: str, *, upper: bool) -> datetime:
    """A date or date-time bound; a bare date as an upper bound covers the whole day."""
    if "T" in text:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    day = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return day + timedelta(days=1) - timedelta(microseconds=1) if upper else day


def _range(value: str, parse: Callable[[str, bool], object]) -> Callable[[object], bool]:
    """GitHub range syntax: N, >N, >=N, <N, <=N, a..b, a..*, *..b."""
    if ".." in value:
        lo, hi = value.split("..", 1)
        low = None if lo == "*" else parse(lo, False)
        high = None if hi == "*" else parse(hi, True)
        return lambda v: (low is None or v >= low) and (high is None or v <= high)
    op, rest = _RANGE.match(value).groups()  # type: ignore[union-attr]
    if op in (">", ">="):
        bound = parse(rest, op == ">")
    elif op in ("<", "<="):
        bound = parse(rest, op == "<=")
    else:
        low, high = parse(rest, False), parse(rest, True)
        return lambda v: low <= v <= high
    checks = {
        ">": lambda v: v > bound,
        ">=": lambda v: v >= bound,
        "<": lambda v: v < bound,
        "<=": lambda v: v <= bound,
    }
    return checks[op]


def _int(text: str, _upper: bool) -> int:
    return int(text)


def _bool_flag(getter: Callable[[FakeRepo], bool], value: str) -> Predicate:
    if value == "only":
        return getter
    want = value == "true"
    return lambda r: getter(r) == want


class BadQuery(ValueError):
    """A search string the fake does not understand."""


def compile_search(query: str) -> tuple[Predicate, str | None]:
    """The filter a GitHub search string selects, and its `sort:` key (or None)."""
    preds: list[Predicate] = []
    sort = None
    fork_given = False
    for token in query.split():
        key, _, value = token.partition(":")
        key, value = key.lower(), value
        if not value:
            needle = token.lower()
            preds.append(lambda r, n=needle: n in r.name.lower())
            continue
        if key == "fork":
            fork_given = True
            if value == "true":
                continue
            preds.append(_bool_flag(lambda r: r.is_fork, value))
        elif key == "language":
            lang = value.lower()
            preds.append(lambda r, lang=lang: lang in (x.lower() for x in r.languages))
        elif key == "stars":
            check = _range(value, _int)
            preds.append(lambda r, c=check: c(r.search_stars))
        elif key in ("created", "pushed"):
            check = _range(value, lambda t, up: _parse_time(t, upper=up))
            attr = f"{key}_at"
            preds.append(lambda r, c=check, a=attr: c(getattr(r, a)))
        elif key in ("archived", "mirror", "template"):
            attr = "is_" + key
            preds.append(_bool_flag(lambda r, a=attr: getattr(r, a), value))
        elif key == "license":
            wanted = value.lower()
            preds.append(lambda r, v=wanted: r.license_key == v)
        elif key == "is" and value in ("public", "private"):
            if value == "private":
                preds.append(lambda r: False)
        elif key == "sort":
            sort = value
        else:
            raise BadQuery(f"unsupported qualifier {token!r}")
    if not fork_given:
        preds.append(lambda r: not r.is_fork)  # search leaves out forks by default
    return (lambda r: all(p(r) for p in preds)), sort


def run_search(population: Population, query: str) -> list[FakeRepo]:
    """Every match, in the order GitHub would page through them."""
    pred, sort = compile_search(query)
    hits = [r for r in population.repos if pred(r)]
    if sort and sort.startswith("updated"):
        hits.sort(key=lambda r: r.pushed_at, reverse=not sort.endswith("-asc"))
    elif sort and sort.startswith("stars"):
        hits.sort(key=lambda r: (r.search_stars, r.number), reverse=not sort.endswith("-asc"))
    else:
        hits.sort(key=lambda r: (-r.search_stars, r.number))  # "best match": stable, star-led
    return hits
