"""The content-addressed blob store."""

import hashlib
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
