"""Run extraction over many files in a process pool, in input order, surviving bad files.

tree-sitter holds the GIL, so the work goes to processes. Files travel in small chunks. If a
chunk crashes its worker or runs past its time limit, the pool is rebuilt and that chunk's files
are retried one by one; a file that fails alone gets a FileResult with the reason as a problem.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from transform.extract.records import FileResult
from transform.extract.source import DEFAULT_MAX_BYTES, extract_source

Extractor = Callable[[str, int], FileResult]


def extract_path(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> FileResult:
    """Read and extract one file; an unreadable or oversized file is a problem, not an error."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return FileResult(path=path, problems=("too_large",), size=size)
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return FileResult(path=path, problems=(f"unreadable: {exc.strerror or exc}",))
    return extract_source(data, path, max_bytes)


def _run_chunk(extractor: Extractor, max_bytes: int, paths: list[str]) -> list[FileResult]:
    return [extractor(p, max_bytes) for p in paths]


class _Pool:
    """A ProcessPoolExecutor that can be killed and rebuilt after a crash or a hang."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(max_workers=workers)

    def submit(self, fn: Callable[[list[str]], list[FileResult]], paths: list[str]) -> Future:
        return self.executor.submit(fn, paths)

    def restart(self) -> None:
        self.close(kill=True)
        self.executor = ProcessPoolExecutor(max_workers=self.workers)

    def close(self, kill: bool = False) -> None:
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        if kill:
            for process in processes:
                process.kill()
        self.executor.shutdown(wait=not kill, cancel_futures=True)
        for process in processes:
            process.join(timeout=5)


def extract_files(
    paths: Iterable[str],
    workers: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    timeout: float = 60.0,
    chunk_files: int = 8,
    extractor: Extractor = extract_path,
) -> Iterator[FileResult]:
    """FileResults for `paths` in input order; `timeout` is seconds per file."""
    workers = workers or os.cpu_count() or 1
    run = partial(_run_chunk, extractor, max_bytes)
    chunks = _chunks(paths, chunk_files)
    pool = _Pool(workers)
    in_flight: deque[tuple[list[str], Future]] = deque()
    try:
        while True:
            for chunk in itertools.islice(chunks, max(0, 2 * workers - len(in_flight))):
                in_flight.append((chunk, pool.submit(run, chunk)))
            if not in_flight:
                return
            chunk, future = in_flight.popleft()
            try:
                results = future.result(timeout=timeout * len(chunk))
            except (FutureTimeout, BrokenProcessPool, Exception) as exc:
                results = _isolate(pool, run, chunk, timeout, exc)
                in_flight = deque((c, pool.submit(run, c)) for c, _ in in_flight)
            yield from results
    finally:
        pool.close(kill=True)


def _isolate(pool: _Pool, run, chunk: list[str], timeout: float, exc: BaseException):
    """Retry a failed chunk's files one at a time so only the bad file is lost."""
    if isinstance(exc, (FutureTimeout, BrokenProcessPool)):
        pool.restart()
    results = []
    for path in chunk:
        try:
            results.extend(pool.submit(run, [path]).result(timeout=timeout))
        except FutureTimeout:
            pool.restart()
            results.append(FileResult(path=path, problems=("timeout",)))
        except BrokenProcessPool:
            pool.restart()
            results.append(FileResult(path=path, problems=("worker_crashed",)))
        except Exception as error:
            results.append(FileResult(path=path, problems=(f"error: {type(error).__name__}",)))
    return results


def _chunks(paths: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(paths)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
