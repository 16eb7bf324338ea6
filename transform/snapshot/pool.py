"""Ordered parallel map of file jobs over worker processes that fails loudly, never hangs.

`multiprocessing.Pool.imap` waits forever when a worker dies; ProcessPoolExecutor reports it
(BrokenProcessPool), and a per-chunk timeout catches a worker stuck on one file. Either way the
build stops with a message naming the files, and nothing is published.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from transform.config import BuildConfig
from transform.snapshot.errors import SnapshotError
from transform.snapshot.worker import FileJob, FileOutput, init_worker, process_chunk, process_file

CHUNK_FILES = 16  # files per task: amortises pickling, keeps the ordered window small


def run_jobs(cfg: BuildConfig, jobs: Iterator[FileJob]) -> Iterator[FileOutput]:
    """Outputs in job order: in this process for one worker, else in a spawn process pool."""
    if cfg.workers == 1:
        init_worker(cfg)
        yield from map(process_file, jobs)
        return
    chunks = iter(lambda: list(itertools.islice(jobs, CHUNK_FILES)), [])
    executor = ProcessPoolExecutor(
        cfg.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(cfg,),
    )
    window: deque[tuple[list[FileJob], Future[list[FileOutput]]]] = deque()
    finished = False
    try:
        for chunk in chunks:
            window.append((chunk, executor.submit(process_chunk, chunk)))
            if len(window) >= 4 * cfg.workers:
                yield from _result(*window.popleft(), cfg.chunk_timeout_s)
        while window:
            yield from _result(*window.popleft(), cfg.chunk_timeout_s)
        finished = True
    finally:
        _shutdown(executor, kill=not finished)


def _result(
    chunk: list[FileJob], future: Future[list[FileOutput]], timeout: float
) -> list[FileOutput]:
    where = f"{chunk[0].origin}@{chunk[0].origin_version} {chunk[0].path}"
    if len(chunk) > 1:
        where += f" .. {chunk[-1].origin}@{chunk[-1].origin_version} {chunk[-1].path}"
    try:
        return future.result(timeout=timeout)
    except BrokenProcessPool:
        raise SnapshotError(
            f"a worker process died while processing {where}; nothing was published"
        ) from None
    except FutureTimeout:
        raise SnapshotError(
            f"no result after {timeout:.0f}s for {where} (stuck on a file?); nothing was published"
        ) from None


def _shutdown(executor: ProcessPoolExecutor, *, kill: bool) -> None:
    processes = list((getattr(executor, "_processes", None) or {}).values())
    if kill:
        for process in processes:
            process.kill()
    executor.shutdown(wait=True, cancel_futures=True)
