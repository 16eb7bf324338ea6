"""Content-addressed blob store: each file is kept once, under its SHA-256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (tarballs, shards, manifests)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BlobStore:
    """Blobs live at `<data_dir>/objects/ab/<sha256>`: 256 directories, as git lays out loose
    objects (a second level only adds a directory to create for nearly every new blob).

    The same file from two releases, or from Hex and GitHub, is written once. Writes are atomic,
    so a blob that exists is always complete. Blobs are not fsynced one by one (that costs ~2 ms
    each); writers call `sync()` before committing catalog rows that reference new blobs.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "objects"
        # Temp files are written here, then renamed into place: a killed writer's leftovers are
        # then in one small directory instead of among every blob (remove_stale_temp_files).
        self.incoming = self.root / ".incoming"
        self._made_dirs: set[str] = set()
        # put() runs a dozen times per package: plain strings skip pathlib's parsing.
        self._root = str(self.root)
        self._incoming = str(self.incoming)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store `data` unless it is already present; return its SHA-256 (lowercase hex)."""
        digest = hashlib.sha256(data).hexdigest()
        directory = f"{self._root}/{digest[:2]}"
        if not os.path.isfile(f"{directory}/{digest}"):
            self._write(directory, digest, data)
        return digest

    def _write(self, directory: str, name: str, data: bytes) -> None:
        """Temp file + rename, as harvest.atomic does, minus the per-file costs that dominated
        a crawl: the directory is made once per process and the temp name is fixed per thread
        (two threads storing the same blob write identical bytes under different names)."""
        for made in (directory, self._incoming):
            if made not in self._made_dirs:
                os.makedirs(made, exist_ok=True)
                self._made_dirs.add(made)
        tmp = f"{self._incoming}/{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, f"{directory}/{name}")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def remove_stale_temp_files(self) -> int:
        """Delete the temp files of writers that are gone (killed mid-write); returns how many.

        A temp file is named `<sha256>.<pid>.<thread>.tmp`; one whose process still runs (another
        crawl sharing this data directory) is left alone.
        """
        removed = 0
        if not self.incoming.is_dir():
            return 0
        for tmp in self.incoming.iterdir():
            parts = tmp.name.split(".")
            pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None
            if pid is not None and pid != os.getpid() and _alive(pid):
                continue
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    @staticmethod
    def sync() -> None:
        """Make every blob written so far durable, once, before the catalog points at them."""
        os.sync()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
