"""The offline demo: a local Hex-like server with the bundled fixture packages, then the pipeline.

Everything lands in ./demo-out (git-ignored). Later stages run when their commands exist.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.hex_server import HexServer, demo_packages  # noqa: E402

OUT = ROOT / "demo-out"


def step(title: str, args: list[str]) -> None:
    print(f"\n==> {title}\n    $ python {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, *args], cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"demo step failed: {title} (exit {result.returncode})")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    catalog, data = OUT / "catalog.duckdb", OUT / "data"
    with HexServer(demo_packages()) as server:
        key = OUT / "demo_repo_key.pem"
        key.write_bytes(server.repo.public_key)
        print(f"demo Hex repository at {server.url} ({len(server.repo.packages)} packages)")
        common = [
            "--repo-url",
            server.url,
            "--api-url",
            f"{server.url}/api",
            "--repo-public-key",
            str(key),
            "--catalog",
            str(catalog),
            "--data-dir",
            str(data),
        ]
        step("harvest every package from the demo repository", ["-m", "harvest", "hex", *common])
        step(
            "run it again: only conditional requests, nothing re-downloaded",
            ["-m", "harvest", "hex", *common],
        )
    import duckdb

    with duckdb.connect(str(catalog), read_only=True) as con:
        print("\n==> what the catalog holds (SQL on catalog.duckdb)")
        for row in con.execute(
            "SELECT package, version, status, licenses, count(f.path) AS files "
            "FROM hex_releases r LEFT JOIN source_files f ON f.source = 'hex' "
            "AND f.origin = r.package AND f.origin_version = r.version "
            "GROUP BY ALL ORDER BY package"
        ).fetchall():
            print("   ", row)
    print(f"\ndemo output: {OUT}")


if __name__ == "__main__":
    main()
