"""Release worker processes: each downloads, verifies and unpacks tarballs on its own event loop.

The crawl's event loop was bound by CPU: two GETs per package, registry verification, a
process hand-off per unpack, and the catalog. Tarball downloads and unpacking now happen
together in `count` worker processes (`python -m harvest.hex.workers`), so the crawl process
keeps the registry and the catalog, and neither side waits on the other's CPU. Each worker
holds its share of the download slots and unpacks between downloads.

The wire between them is length-prefixed pickles over the worker's stdin and stdout: a
`WorkerConfig` first, then `(job_id, ReleaseJob)` one way and `(job_id, ok, result)` the other,
where a result that is not ok is a bug's traceback. A worker exits when its stdin closes, so
killing the crawl takes its workers with it; a worker that dies fails only the releases it
held, and the next job starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import struct
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harvest.hex.release import ReleaseJob, ReleaseResult, fetch_release
from harvest.net.identity import USER_AGENT
from harvest.net.wire import WirePool

_LENGTH = struct.Struct("!I")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class WorkerDied(RuntimeError):
    """The worker process holding this release exited before answering."""


class WorkersUnavailable(RuntimeError):
    """Worker after worker exited without finishing anything: they cannot run here."""


# Workers in a row that may die without answering once before the crawl gives up.
MAX_FRUITLESS_STARTS = 3


@dataclass(frozen=True)
class WorkerConfig:
    downloads: int  # this worker's download slots
    timeout: float


# -- the crawl's side ---------------------------------------------------------------------------


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[ReleaseResult]] = {}
        self.answered = 0
        self.alive = True
        self.reader = asyncio.create_task(self._read_results())

    async def _read_results(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                job_id, ok, payload = await _receive(self.proc.stdout)
                self.answered += 1
                future = self.pending.pop(job_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(RuntimeError(f"release worker failed:\n{payload}"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.alive = False
            code = await self.proc.wait()
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(WorkerDied(f"release worker died (exit code {code})"))
            self.pending.clear()

    def send(self, job_id: int, job: ReleaseJob) -> asyncio.Future[ReleaseResult]:
        assert self.proc.stdin is not None
        if not self.alive:
            raise WorkerDied("release worker died before it was sent the release")
        future: asyncio.Future[ReleaseResult] = asyncio.get_running_loop().create_future()
        self.pending[job_id] = future
        self.proc.stdin.write(_frame((job_id, job)))
        return future


class ReleaseWorkers:
    """`count` worker processes sharing `downloads` download slots; `run(job)` sends a job to
    the least busy one and returns its result."""

    command: tuple[str, ...] = (sys.executable, "-m", "harvest.hex.workers")

    def __init__(self, count: int, downloads: int, timeout: float) -> None:
        count = max(1, min(count, downloads))  # each worker holds at least one download slot
        self.count = count
        self.configs = [
            WorkerConfig(downloads // count + (i < downloads % count), timeout)
            for i in range(count)
        ]
        self._workers: list[_Worker | None] = [None] * count
        self._next_id = 0
        self._starting = asyncio.Lock()
        self._fruitless = 0  # workers in a row that died without answering
        self._warming: list[asyncio.Future[_Worker]] = []

    async def run(self, job: ReleaseJob) -> ReleaseResult:
        worker = await self._pick()
        self._next_id += 1
        future = worker.send(self._next_id, job)
        assert worker.proc.stdin is not None
        with contextlib.suppress(ConnectionError):
            await worker.proc.stdin.drain()  # a dead worker is reported through `future`
        return await future

    def start(self) -> None:
        """Start every worker now, in the background, rather than at the first job."""
        self._warming = [asyncio.ensure_future(self._ensure(slot)) for slot in range(self.count)]

    async def _pick(self) -> _Worker:
        """The live worker with the fewest jobs; a dead or missing one is (re)started first."""
        return await self._ensure(min(range(self.count), key=self._load))

    async def _ensure(self, slot: int) -> _Worker:
        worker = self._workers[slot]
        if worker is None or not worker.alive:
            async with self._starting:
                worker = self._workers[slot]
                if worker is None or not worker.alive:
                    if worker is not None:
                        self._fruitless = 0 if worker.answered else self._fruitless + 1
                    worker = await self._start(slot)
        return worker

    def _load(self, slot: int) -> int:
        worker = self._workers[slot]
        return len(worker.pending) if worker is not None and worker.alive else -1

    async def _start(self, slot: int) -> _Worker:
        if self._fruitless >= MAX_FRUITLESS_STARTS:
            raise WorkersUnavailable(
                f"{self._fruitless} release workers in a row exited before finishing a release"
                f" ({' '.join(self.command)}); their errors are above"
            )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(_python_path())}
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None
        proc.stdin.write(_frame(self.configs[slot]))
        worker = _Worker(proc)
        self._workers[slot] = worker
        return worker

    async def aclose(self) -> None:
        """Close the workers' stdin (they finish nothing more and exit); kill a straggler."""
        for warming in self._warming:
            warming.cancel()
        await asyncio.gather(*self._warming, return_exceptions=True)
        workers = [w for w in self._workers if w is not None]
        for worker in workers:
            if worker.proc.stdin is not None:
                worker.proc.stdin.close()
        for worker in workers:
            try:
                async with asyncio.timeout(10):
                    await worker.proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.kill()
            worker.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker.reader


def _python_path() -> list[str]:
    existing = os.environ.get("PYTHONPATH")
    return [str(PROJECT_ROOT), *([existing] if existing else [])]


# -- the worker's side --------------------------------------------------------------------------


async def _serve(requests: asyncio.StreamReader, answers: Any) -> None:
    config: WorkerConfig = await _receive(requests)
    slots = asyncio.Semaphore(config.downloads)
    tasks: set[asyncio.Task[None]] = set()

    client = WirePool(
        headers={"User-Agent": USER_AGENT}, max_connections=config.downloads, timeout=config.timeout
    )

    async def one(job_id: int, job: ReleaseJob) -> None:
        try:
            result: object = await fetch_release(client, job, slots)
            ok = True
        except Exception:
            result, ok = traceback.format_exc(), False
        try:
            answers.write(_frame((job_id, ok, result)))
            answers.flush()
        except BrokenPipeError:
            pass  # the crawl is gone; our stdin's end follows and we exit

    try:
        while True:
            try:
                job_id, job = await _receive(requests)
            except asyncio.IncompleteReadError:
                break  # the crawl closed our stdin, or died
            task = asyncio.create_task(one(job_id, job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        client.close()


async def _worker_main() -> None:
    loop = asyncio.get_running_loop()
    requests = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(requests), sys.stdin)
    # The answers get their own descriptor; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    await _serve(requests, answers)


def _frame(message: object) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def _receive(stream: asyncio.StreamReader) -> Any:
    (size,) = _LENGTH.unpack(await stream.readexactly(_LENGTH.size))
    return pickle.loads(await stream.readexactly(size))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker_main())
