"""Run extraction over many files in a process pool, in input order, surviving bad files.

tree-sitter holds the GIL, so the work goes to processes. Files travel in small chunks. If a
chunk crashes its worker or runs past its time limit, the pool is rebuilt and that chunk's files
are retried one by one; a file that fails alone gets a FileResult with the reason as a problem.
"""

from __future__ import annotations

import contextlib
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
    chunk_files: int = 32,
    chunk_bytes: int = 256 << 10,
    extractor: Extractor = extract_path,
) -> Iterator[FileResult]:
    """FileResults for `paths` in input order; `timeout` is seconds per file.

    Files go to the workers in tasks of up to `chunk_files` files or about `chunk_bytes`.
    """
    workers = workers or os.cpu_count() or 1
    run = partial(_run_chunk, extractor, max_bytes)
    chunks = _chunks(paths, chunk_files, chunk_bytes)
    pool = _Pool(workers)
    in_flight: deque[tuple[list[str], Future]] = deque()
    finished = False
    try:
        while True:
            for chunk in itertools.islice(chunks, max(0, 2 * workers - len(in_flight))):
                in_flight.append((chunk, pool.submit(run, chunk)))
            if not in_flight:
                finished = True
                return
            chunk, future = in_flight.popleft()
            try:
                # A task holds at most ~chunk_bytes plus one file, normally well under a second,
                # so one file's allowance covers it; a timed-out task is retried file by file.
                results = future.result(timeout=timeout)
            except Exception as exc:
                results = _isolate(pool, run, chunk, timeout, exc)
                if _pool_lost(exc):  # the restart dropped the other chunks in flight
                    in_flight = deque((c, pool.submit(run, c)) for c, _ in in_flight)
            yield from results
    finally:
        pool.close(kill=not finished)  # a consumer that stops early must not wait for workers


def _isolate(
    pool: _Pool,
    run: Callable[[list[str]], list[FileResult]],
    chunk: list[str],
    timeout: float,
    exc: BaseException,
) -> list[FileResult]:
    """Retry a failed chunk's files one at a time so only the bad file is lost."""
    if _pool_lost(exc):
        pool.restart()
    if len(chunk) == 1:  # already alone: retrying would only repeat the failure
        return [FileResult(path=chunk[0], problems=(_reason(exc),))]
    results = []
    for path in chunk:
        try:
            results.extend(pool.submit(run, [path]).result(timeout=timeout))
        except Exception as error:  # one file's failure must not stop the batch
            if _pool_lost(error):
                pool.restart()
            results.append(FileResult(path=path, problems=(_reason(error),)))
    return results


def _pool_lost(exc: BaseException) -> bool:
    """A hang or a dead worker: the pool must be rebuilt (and its queued work resubmitted)."""
    return isinstance(exc, (FutureTimeout, BrokenProcessPool))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FutureTimeout):
        return "timeout"
    if isinstance(exc, BrokenProcessPool):
        return "worker_crashed"
    return f"error: {type(exc).__name__}"


def _chunks(paths: Iterable[str], max_files: int, max_bytes: int) -> Iterator[list[str]]:
    """Tasks of up to `max_files` files and about `max_bytes`: few tasks for many small files
    (each task costs the pool a round trip), small ones where a file is big."""
    chunk: list[str] = []
    size = 0
    for path in paths:
        with contextlib.suppress(OSError):  # extract_path reports it
            size += os.path.getsize(path)
        chunk.append(path)
        if len(chunk) >= max_files or size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk
