"""The content-addressed blob store."""

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

from harvest.store import BlobStore, sha256_file


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"defmodule A do end\n")
    assert digest == hashlib.sha256(b"defmodule A do end\n").hexdigest()
    assert store.path(digest) == tmp_path / "objects" / digest[:2] / digest
    assert store.put(b"defmodule A do end\n") == digest
    assert store.read(digest) == b"defmodule A do end\n"
    assert sha256_file(store.path(digest)) == digest
    assert not list(tmp_path.rglob("*.tmp"))


def test_concurrent_puts_of_the_same_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"x" * 100_000
    threads = [threading.Thread(target=store.put, args=(data,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    blobs = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == data


def test_a_killed_writers_temp_files_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    """A writer killed between writing a temp file and renaming it leaves the temp file; the
    next crawl removes it, but not one that a running process (another crawl) is writing."""
    store = BlobStore(tmp_path)
    store.put(b"a blob")  # creates the directories
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)  # that process has exited
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = store.incoming / f"{'a' * 64}.{dead_pid}.140038071379648.tmp"
        live = store.incoming / f"{'b' * 64}.{sleeper.pid}.140038071379648.tmp"
        odd = store.incoming / "leftover.tmp"
        for path in (stale, live, odd):
            path.write_bytes(b"partial")
        assert store.remove_stale_temp_files() == 2
        assert sorted(p.name for p in store.incoming.iterdir()) == [live.name]
        assert store.read(store.put(b"a blob")) == b"a blob"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.remove_stale_temp_files() == 1
    assert BlobStore(tmp_path / "nothing-yet").remove_stale_temp_files() == 0
