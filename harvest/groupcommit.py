"""Group commit: rows finished while one transaction runs go into the next one.

DuckDB charges milliseconds per INSERT statement, which at thousands of releases or
repositories dominated a crawl. One thread owns the catalog connection and writes each group
with one statement per table; workers hand over their rows and move on. A crash loses only the
rows not yet committed, and the rerun redoes exactly those. Used by both crawlers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupWriter(Generic[T]):
    """`submit()` from any task; `close()` commits what is left and re-raises any failure.

    `apply(group)` runs in the writer's own thread and must write the whole group in one
    transaction.
    """

    def __init__(
        self,
        apply: Callable[[Sequence[T]], None],
        max_group: int = 500,
        before_commit: Callable[[], None] | None = None,
        linger: float = 0.0,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        """`linger` seconds: how long a group waits for company before it commits. A commit
        costs milliseconds whatever its size, so a short linger turns a stream of one-row
        commits into a few large ones; a crash loses at most that much finished work."""
        self._apply = apply
        self._linger = linger
        self._closing = asyncio.Event()
        self._hurry = asyncio.Event()  # set by close() and by a full group: stop lingering
        self._before_commit = before_commit
        self._after_commit = after_commit
        self._max_group = max_group
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="catalog")
        self._task: asyncio.Task[None] | None = None
        self.groups = 0

    def submit(self, write: T) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        elif self._task.done():
            self._task.result()  # a group failed: stop the crawl with its error
        self._queue.put_nowait(write)
        if self._queue.qsize() >= self._max_group:
            self._hurry.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            group = await self._next_group()
            await loop.run_in_executor(self._thread, self._commit, group)
            self.groups += 1
            for _ in group:
                self._queue.task_done()

    async def _next_group(self) -> list[T]:
        """The first write, then whatever arrives within the linger (cut short by close() or
        a full group). One timed wait per group: a wait per arriving write cost ~30 us of the
        event loop's time each, several times per package."""
        group = [await self._queue.get()]
        if self._linger > 0 and not self._hurry.is_set():
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a cancel that
            # arrives as the wait ends, which is exactly what close(flush=False) does (it sets
            # `_hurry`, then cancels), and the writer then waited forever on an empty queue.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._linger):
                    await self._hurry.wait()
        while len(group) < self._max_group and not self._queue.empty():
            group.append(self._queue.get_nowait())
        if not self._closing.is_set() and self._queue.qsize() < self._max_group:
            self._hurry.clear()
        return group

    def _commit(self, group: list[T]) -> None:
        if self._before_commit is not None:
            self._before_commit()  # e.g. make new blobs durable before rows point at them
        self._apply(group)
        if self._after_commit is not None:
            self._after_commit()  # e.g. Catalog.release_cached_blocks

    async def close(self, *, flush: bool = True) -> None:
        """Commit everything submitted (unless the crawl is being abandoned), then stop."""
        self._closing.set()
        self._hurry.set()
        try:
            if flush and self._task is not None:
                drained = asyncio.create_task(self._queue.join())
                await asyncio.wait({drained, self._task}, return_when=asyncio.FIRST_COMPLETED)
                drained.cancel()
                if self._task.done():
                    self._task.result()
        finally:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._thread.shutdown(wait=True)
