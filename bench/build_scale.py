"""Benchmark `transform build` at Hex scale: wall time, peak RSS, MinHash vs datasketch.

    python bench/build_scale.py                      # 17,000 packages, about 2 GB of source
    python bench/build_scale.py --packages 500       # quick run

Generates a corpus from the test fixtures plus synthetic modules (GenServers, documented
functions with doctests, specs), with the duplication real Hex has: several versions per
package, vendored copies, near-duplicate forks, the same code on GitHub, tests, generated
files, secrets and bad licenses. It writes a temp catalog + blob store, runs
`python -m transform build` in a subprocess (peak RSS = the largest sum over the process tree),
then compares near-dedup against datasketch's MinHashLSH on the same texts at the same
parameters (5-gram word shingles, 256 permutations, 25 bands x 10 rows).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import psutil
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harvest.catalog import open_catalog
from harvest.store import BlobStore
from tests.transform.snapshot.corpus import FIXTURES
from transform.config import DedupConfig
from transform.steps.dedup_minhash import MinHasher, cluster

FIXTURE_FILES = [
    "counter.ex",
    "math_utils.ex",
    "supervisor.ex",
    "placeholder.ex",
    "secrets.ex",
    "contaminated.ex",
    "broken.ex",
]
STATEMENTS = [
    "{v} = Enum.map({a}, fn item -> item * {n} end)",
    "{v} = Map.get({a}, :{w}, {n})",
    "{v} = {a} |> Enum.filter(&(&1 > {n})) |> Enum.sum()",
    'Logger.debug("{w} #{{inspect({a})}}")',
    '{v} = String.split({a}, "{w}", trim: true)',
    "{v} = Keyword.get(opts, :{w}, {n})",
    "{v} = for x <- {a}, x != {n}, do: {{x, :{w}}}",
    "{v} = Enum.reduce({a}, {n}, fn x, acc -> acc + x end)",
    "{v} = if {a} == :{w}, do: {n}, else: {a}",
    "{{:ok, {v}}} = Repo.fetch({a}, :{w})",
]


class Generator:
    """Deterministic Elixir-looking source, varied enough that dedup has real work."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = [
            "ka",
            "ri",
            "to",
            "mo",
            "le",
            "sa",
            "ne",
            "vi",
            "po",
            "gu",
            "dex",
            "lin",
            "ar",
            "es",
            "um",
            "or",
            "tal",
            "zen",
            "qu",
            "bo",
        ]
        words = {
            "".join(self.rng.choices(syllables, k=self.rng.randint(2, 4))) for _ in range(6000)
        }
        self.words = sorted(words)
        self.fixtures = [(name, (FIXTURES / name).read_text()) for name in FIXTURE_FILES]

    def ident(self) -> str:
        return "_".join(self.rng.sample(self.words, self.rng.randint(1, 2)))

    def sentence(self) -> str:
        text = " ".join(self.rng.choices(self.words, k=self.rng.randint(6, 16)))
        return text[0].upper() + text[1:] + "."

    def function(self, module: str) -> str:
        rng = self.rng
        name, args = self.ident(), [self.ident() for _ in range(rng.randint(1, 3))]
        doc = " ".join(self.sentence() for _ in range(rng.randint(1, 3)))
        lines = [f'  @doc """\n  {doc}\n']
        if rng.random() < 0.3:
            lines.append(
                f"  ## Examples\n\n      iex> {module}.{name}({', '.join('1' * len(args))})"
                f"\n      {rng.randint(0, 99)}\n"
            )
        lines.append('  """\n')
        if rng.random() < 0.5:
            lines.append(f"  @spec {name}({', '.join('term()' for _ in args)}) :: term()\n")
        lines.append(f"  def {name}({', '.join(args)}) do\n")
        var = args[0]
        for _ in range(rng.randint(2, 10)):
            new = self.ident()
            lines.append(
                "    "
                + rng.choice(STATEMENTS).format(
                    v=new, a=var, w=rng.choice(self.words), n=rng.randint(0, 999)
                )
                + "\n"
            )
            var = new
        lines.append(f"    {var}\n  end\n")
        return "".join(lines)

    def module(self, package: str) -> tuple[str, str]:
        rng = self.rng
        name = f"{package.title().replace('_', '')}.{self.ident().title().replace('_', '')}"
        head = [
            f'defmodule {name} do\n  @moduledoc """\n  {self.sentence()} {self.sentence()}\n  """\n'
        ]
        if rng.random() < 0.15:
            head.append("  use GenServer\n\n  @impl true\n  def init(state), do: {:ok, state}\n\n")
        body = [self.function(name) for _ in range(rng.randint(3, 12))]
        text = "".join(head) + "\n".join(body) + "end\n"
        return f"lib/{package}/{name.split('.')[-1].lower()}.ex", text

    def mutate(self, text: str, changes: int) -> str:
        """A near-duplicate: a few number literals changed."""
        numbers = list(re.finditer(r"\b\d+\b", text))
        for m in sorted(
            self.rng.sample(numbers, min(changes, len(numbers))), key=lambda m: -m.start()
        ):
            text = text[: m.start()] + str(self.rng.randint(1000, 9999)) + text[m.end() :]
        return text

    def package(self, index: int, earlier: list[dict[str, str]]) -> dict[str, str]:
        rng = self.rng
        package = f"pkg_{index}_{self.rng.choice(self.words)}"
        files = dict(self.module(package) for _ in range(rng.randint(4, 18)))
        if rng.random() < 0.2:
            files[f"test/{package}_test.exs"] = self.module(package)[1]
        if rng.random() < 0.1:
            name, text = rng.choice(self.fixtures)
            files[f"lib/{package}/{name}"] = text.replace("defmodule ", f"defmodule P{index}.")
        if rng.random() < 0.02:
            files[f"lib/{package}/generated.ex"] = (
                "# auto-generated, do not edit\n" + self.module(package)[1]
            )
        if earlier and rng.random() < 0.12:  # vendored or forked code from another package
            source = rng.choice(earlier)
            for path, text in rng.sample(sorted(source.items()), min(3, len(source))):
                files["lib/vendor/" + Path(path).name] = (
                    text if rng.random() < 0.5 else self.mutate(text, rng.randint(1, 3))
                )
        return files


def releases(
    gen: Generator, packages: int
) -> Iterator[tuple[str, str, str, str | None, dict[str, str]]]:
    """(source, origin, version, license, files) for every release and mirrored repository."""
    earlier: list[dict[str, str]] = []
    licenses = ["MIT"] * 10 + ["Apache-2.0"] * 6 + ["BSD-3-Clause", "GPL-3.0-only", None, None]
    for i in range(packages):
        files = gen.package(i, earlier)
        earlier = ([*earlier, files])[-200:]
        name, lic = f"pkg_{i}", gen.rng.choice(licenses)
        versions = gen.rng.choices([1, 2, 3], weights=[45, 40, 15])[0]
        for v in range(versions):
            if v:
                for path in gen.rng.sample(sorted(files), max(1, len(files) // 7)):
                    files = {**files, path: gen.mutate(files[path], 2)}
            yield "hex", name, f"0.{v + 1}.0", lic, files
        if gen.rng.random() < 0.1:
            yield (
                "github",
                f"org{i % 97}/{name}",
                hashlib.sha1(name.encode()).hexdigest(),
                lic,
                files,
            )


def write_corpus(root: Path, packages: int, seed: int) -> dict[str, int]:
    """Blob store (plain writes; a benchmark needs no fsync) and catalog rows."""
    store = BlobStore(root / "data")
    rows: list[tuple] = []
    totals = {"releases": 0, "files": 0, "bytes": 0, "blobs": 0}
    with open_catalog(root / "catalog.duckdb", write=True) as catalog:
        for source, origin, version, lic, files in releases(Generator(seed), packages):
            totals["releases"] += 1
            _insert_release(catalog, source, origin, version, lic)
            for path, text in files.items():
                data = text.encode()
                sha = hashlib.sha256(data).hexdigest()
                if not store.exists(sha):
                    store.put(data)
                    totals["blobs"] += 1
                rows.append((source, origin, version, path, sha, len(data), lic))
                totals["files"] += 1
                totals["bytes"] += len(data)
            if len(rows) > 50_000:
                _flush(catalog, rows)
        _flush(catalog, rows)
    return totals


def _insert_release(catalog, source: str, origin: str, version: str, lic: str | None) -> None:
    checksum = hashlib.sha256(f"{origin}{version}".encode()).hexdigest()
    if source == "hex":
        catalog.execute(
            "INSERT INTO hex_releases (package, version, outer_checksum, status,"
            " updated_at) VALUES (?, ?, ?, 'fetched', now())",
            [origin, version, checksum],
        )
    else:
        catalog.execute(
            "INSERT INTO github_repos (id, name_with_owner, commit_oid, status,"
            " updated_at) VALUES (?, ?, ?, 'fetched', now())",
            [origin, origin, version],
        )


def _flush(catalog, rows: list[tuple]) -> None:
    if not rows:
        return
    names = ["source", "origin", "origin_version", "path", "sha256", "bytes", "license"]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    catalog.con.register("batch", table)
    catalog.execute(f"INSERT INTO source_files ({', '.join(names)}) SELECT * FROM batch")
    catalog.con.unregister("batch")
    rows.clear()


def run_build(root: Path, workers: int) -> dict[str, float]:
    """Run the build in a subprocess; sample the RSS of its whole process tree."""
    config = root / "bench.yaml"
    config.write_text(
        json.dumps({"decontam": {"benchmarks": [str(FIXTURES / "humaneval_fixture.jsonl")]}})
    )
    cmd = [
        sys.executable,
        "-m",
        "transform",
        "build",
        "--version",
        "bench",
        "--config",
        str(config),
        "--catalog",
        str(root / "catalog.duckdb"),
        "--data-dir",
        str(root / "data"),
        "--output-dir",
        str(root / "datasets"),
        "--workers",
        str(workers),
    ]
    started = time.perf_counter()
    load = os.getloadavg()[0]
    proc = psutil.Popen(cmd, cwd=Path(__file__).resolve().parents[1])
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.25)
    if proc.returncode != 0:
        raise SystemExit(f"build failed with exit code {proc.returncode}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": time.perf_counter() - started,
        "peak_rss_gib": peak / 2**30,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def sample_texts(root: Path, limit: int) -> list[str]:
    """Texts for the MinHash comparison: the build's input before any dedup, i.e. distinct
    blobs in catalog order (versions, vendored copies and forks included), plus the functions
    cut from them, the units instruct rows are deduplicated on."""
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    shas = [
        r[0]
        for r in con.execute(
            "SELECT sha256 FROM source_files WHERE path LIKE '%.ex' GROUP BY sha256"
            " ORDER BY min(origin), min(origin_version) LIMIT ?",
            [limit // 4],
        ).fetchall()
    ]
    con.close()
    store = BlobStore(root / "data")
    files = [store.read(s).decode() for s in shas]
    functions = [chunk for text in files for chunk in re.split(r"\n(?=  @doc)", text)[1:]]
    return (files + functions)[:limit]


def datasketch_clusters(texts: list[str], cfg: DedupConfig) -> tuple[np.ndarray, float]:
    """BigCode's recipe with datasketch: shingle, MinHash.update_batch, LSH insert + query."""
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    split = re.compile(r"[^A-Za-z_0-9]+")
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    hashes = []
    for i, text in enumerate(texts):
        tokens = [t for t in split.split(text) if t]
        grams = (
            {
                " ".join(tokens[j : j + cfg.ngram]).encode()
                for j in range(max(1, len(tokens) - cfg.ngram + 1))
            }
            if tokens
            else set()
        )
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update_batch(list(grams))
        hashes.append(m)
        lsh.insert(i, m)
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    labels = np.array([find(i) for i in range(len(texts))])
    return labels, time.perf_counter() - started


def ours_clusters(texts: list[str], cfg: DedupConfig) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    hasher = MinHasher(cfg)
    keys, has = [], []
    for lo in range(0, len(texts), 500):
        k, h = hasher.keys_for(texts[lo : lo + 500])
        keys.append(k)
        has.append(h)
    labels = cluster(np.concatenate(keys), np.concatenate(has))
    return labels, time.perf_counter() - started


def true_pairs(
    texts: list[str], labels: list[np.ndarray], cfg: DedupConfig
) -> set[tuple[int, int]]:
    """Pairs clustered by either method whose exact shingle Jaccard reaches the threshold."""
    split = re.compile(r"[^A-Za-z_0-9]+")
    sets: dict[int, set[tuple[str, ...]]] = {}

    def shingles(i: int) -> set[tuple[str, ...]]:
        if i not in sets:
            t = [x for x in split.split(texts[i]) if x]
            sets[i] = {tuple(t[j : j + cfg.ngram]) for j in range(max(1, len(t) - cfg.ngram + 1))}
        return sets[i]

    found = set()
    for lab in labels:
        groups: dict[int, list[int]] = {}
        for i, g in enumerate(lab.tolist()):
            groups.setdefault(g, []).append(i)
        for members in groups.values():
            for a, b in itertools.combinations(members[:60], 2):
                sa, sb = shingles(a), shingles(b)
                if sa and len(sa & sb) / len(sa | sb) >= cfg.threshold:
                    found.add((a, b))
    return found


def recall(labels: np.ndarray, pairs: set[tuple[int, int]]) -> float:
    return sum(labels[a] == labels[b] for a, b in pairs) / len(pairs) if pairs else 1.0


def extraction_throughput(texts: list[str]) -> float:
    """MiB/s of tree-sitter extraction (one process) on the whole files among `texts`."""
    from transform.extract import extract_source

    files = [t.encode() for t in texts if t.startswith("defmodule") or "\ndefmodule" in t]
    started = time.perf_counter()
    for data in files:
        extract_source(data, "lib/x.ex")
    return sum(map(len, files)) / 2**20 / (time.perf_counter() - started)


def compare_minhash(texts: list[str], repeats: int = 3) -> dict[str, float]:
    """Both methods on the same texts, alternating; the best of `repeats` runs each, because
    the shared 2-core machine is noisy."""
    cfg = DedupConfig()
    ours_s, theirs_s = float("inf"), float("inf")
    for _ in range(repeats):
        ours, seconds = ours_clusters(texts, cfg)
        ours_s = min(ours_s, seconds)
        theirs, seconds = datasketch_clusters(texts, cfg)
        theirs_s = min(theirs_s, seconds)
    pairs = true_pairs(texts, [ours, theirs], cfg)
    mb = sum(len(t.encode()) for t in texts) / 2**20
    return {
        "extract_mib_s": extraction_throughput(texts),
        "texts": len(texts),
        "mib": mb,
        "ours_s": ours_s,
        "datasketch_s": theirs_s,
        "speedup": theirs_s / ours_s,
        "ours_mib_s": mb / ours_s,
        "datasketch_mib_s": mb / theirs_s,
        "true_pairs": len(pairs),
        "ours_recall": recall(ours, pairs),
        "datasketch_recall": recall(theirs, pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=17_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare-texts", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="build_scale-"))
    started = time.perf_counter()
    corpus = write_corpus(root, args.packages, args.seed)
    print(
        f"corpus: {args.packages} packages, {corpus['releases']} releases/repos, "
        f"{corpus['files']} files, {corpus['bytes'] / 2**30:.2f} GiB "
        f"({corpus['blobs']} distinct blobs), generated in {time.perf_counter() - started:.0f} s"
    )
    build = run_build(root, args.workers)
    manifest = json.loads((root / "datasets" / "bench" / "manifest.json").read_text())
    near = manifest["dedup"]["near"]
    print(
        f"build: {build['wall_s']:.1f} s wall with {args.workers} workers "
        f"({corpus['bytes'] / 2**20 / build['wall_s']:.2f} MiB/s), "
        f"peak RSS {build['peak_rss_gib']:.2f} GiB (process tree)"
    )
    rows = {
        f"{c}/{s}": sum(x["rows"] for x in manifest["configs"][c][s])
        for c in ("instruct", "corpus")
        for s in ("train", "validation")
    }
    print(
        f"rows: {rows}; near-dup removal: instruct {near['instruct']['removal_rate']:.1%}, "
        f"corpus {near['corpus']['removal_rate']:.1%}"
    )
    result = compare_minhash(sample_texts(root, args.compare_texts))
    print("near-dedup, same texts, 5-gram / 256 perm / 25x10 bands:")
    print(
        f"  ours       {result['ours_s']:.2f} s ({result['ours_mib_s']:.2f} MiB/s), "
        f"recall {result['ours_recall']:.3f}"
    )
    print(
        f"  datasketch {result['datasketch_s']:.2f} s ({result['datasketch_mib_s']:.2f} MiB/s), "
        f"recall {result['datasketch_recall']:.3f}"
    )
    print(
        f"  speedup {result['speedup']:.1f}x on {result['texts']} texts "
        f"({result['mib']:.1f} MiB), {result['true_pairs']} pairs with Jaccard >= 0.7"
    )
    print(
        f"  for scale: tree-sitter extraction of the same files, one process: "
        f"{result['extract_mib_s']:.2f} MiB/s"
    )
    if args.keep is None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
