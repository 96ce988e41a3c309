"""Building chunks of rows in worker processes, the results in input order.

    with ChunkPool(mapper, ctx, workers=2) as pool:
        for key, built in pool.map((key, chunk) for ...):    # one result per chunk, in the same order
            ...

With `workers=1` every chunk is built in the calling process. With more, a run whose input fits in one
chunk never starts a process: the pool starts when a second chunk turns up, and the first chunk is built
in the calling process while the workers start. At most a few chunks per worker are in flight
(`IN_FLIGHT_PER_WORKER`), so memory stays bounded however long the input. A chunk travels as text (a
block of the file) and comes back as `building.Built` tuples, the events' JSON already encoded: pickling
costs little next to building.

Workers start from a clean server process ("forkserver"), never by forking the calling process, which may
have threads sending requests at the time. They ignore SIGINT: Ctrl-C reaches the whole process group,
and stopping a run is the main process's business (it finishes what is in flight). An exception in a
worker is re-raised by `map` in the calling process, as if the chunk had been built there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper
from snapcapi.run import memory
from snapcapi.run.chunks import BuildResult, Chunk, ChunkBuilder
from snapcapi.run.records import Encoding

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

K = TypeVar("K")
WATCH_SECONDS = 0.5  # how often a worker checks that the run that started it is still there
# Chunks queued or being built, per worker, when they carry no request bodies (validate), and when they
# do (upload). With 2, a worker at times waited for its next chunk while the main process was off the CPU;
# 4 measured 2-4% faster on the validate benchmark (1M rows, alternating runs) for 2-3 MB more at the
# peak. A chunk with bodies holds about 1.5 MB more on its way back: 4 of them took upload's peak on 10M
# rows from 138 to 148 MB, too near the 150 MB it must stay under, so upload keeps 2.
IN_FLIGHT_PER_WORKER = 4
IN_FLIGHT_PER_WORKER_WITH_BODIES = 2

# The one builder of a worker process, made by `_start_worker` from what the pool was given.
_WORKER_BUILDER: ChunkBuilder | None = None


def default_workers() -> int:
    """Return the number of worker processes to use when not told: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ChunkPool:
    """Builds chunks, in worker processes when `workers` > 1. Close it, or use it in a `with`."""

    def __init__(
        self,
        mapper: Mapper,
        ctx: BuildContext,
        workers: int = 1,
        *,
        bodies: bool = True,
        encoding: Encoding | None = None,
    ) -> None:
        """`bodies` and `encoding` as for `ChunkBuilder`. Raises ValueError when `workers` is below 1."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._builder = ChunkBuilder(mapper, ctx, bodies=bodies, encoding=encoding)
        self._mapper = mapper
        self._ctx = ctx
        self._bodies = bodies
        self._encoding = encoding
        self._in_flight = (IN_FLIGHT_PER_WORKER_WITH_BODIES if bodies else IN_FLIGHT_PER_WORKER) * workers
        self._executor: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """True once worker processes were started."""
        return self._executor is not None

    def map(self, chunks: Iterable[tuple[K, Chunk]]) -> Iterator[tuple[K, BuildResult]]:
        """Build each chunk and yield (its key, its results), in the order the chunks come.

        An exception raised by `chunks` is re-raised once the chunks read before it are yielded.
        """
        source = iter(chunks)
        first = next(source, None)
        if first is None:
            return
        second = None
        failure: Exception | None = None
        if self.workers > 1:
            try:
                second = next(source, None)
            except Exception as exc:  # re-raised once the first chunk is yielded
                failure = exc
        if second is None:
            yield first[0], self._builder.build(first[1])
            if failure is not None:
                raise failure
            for key, chunk in source:
                yield key, self._builder.build(chunk)
            return
        in_flight: deque[tuple[K, Future[BuildResult]]] = deque()
        executor = self._start()
        in_flight.append((second[0], executor.submit(_build, second[1])))
        try:
            failure = self._fill(source, in_flight, executor)
            # Built here while the workers start and take the next chunks.
            yield first[0], self._builder.build(first[1])
            while in_flight:
                key, future = in_flight.popleft()
                built = future.result()
                if failure is None:
                    failure = self._fill(source, in_flight, executor)
                yield key, built
        finally:
            for _, future in in_flight:
                future.cancel()
        if failure is not None:
            raise failure

    def _fill(
        self,
        source: Iterator[tuple[K, Chunk]],
        in_flight: deque[tuple[K, Future[BuildResult]]],
        executor: ProcessPoolExecutor,
    ) -> Exception | None:
        """Submit chunks until `IN_FLIGHT_PER_WORKER` per worker are in flight; return the exception
        reading raised, if any."""
        while len(in_flight) < self._in_flight:
            try:
                item = next(source, None)
            except Exception as exc:  # re-raised by map once what was read before it is yielded
                return exc
            if item is None:
                return None
            in_flight.append((item[0], executor.submit(_build, item[1])))
        return None

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            _quiet_resource_tracker()
            # Imported when a second chunk turns up: a run of one chunk (and start-up) does without them.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._mapper, self._ctx, self._bodies, self._encoding, os.getpid()),
            )
        return self._executor

    def close(self) -> None:
        """Stop the worker processes (after the chunks they are building). Calling it again does nothing."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())  # shutdown forgets them
        with contextlib.suppress(RuntimeError):  # its manager thread never started: no thread to be had
            executor.shutdown(wait=True, cancel_futures=True)
        # A process still alive was told nothing: the pool's manager thread never started, or died (a
        # thread it needed could not start, under a memory limit). Waiting for it at exit would wait
        # forever: end it.
        for process in processes:
            if process.is_alive():
                with contextlib.suppress(OSError):
                    process.kill()

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# multiprocessing's resource tracker (a process of its own) warns of "leaked semaphore objects" when the
# run ends at once (a second Ctrl-C, os._exit): the pool's semaphores, which the tracker then removes, as
# it is there to do. The tracker takes its warning filters from this process's -W options when it starts.
_TRACKER_QUIET = "ignore:resource_tracker:UserWarning:multiprocessing.resource_tracker"


def _quiet_resource_tracker() -> None:
    if _TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_QUIET)


def _start_worker(
    mapper: Mapper, ctx: BuildContext, bodies: bool, encoding: Encoding | None, run_pid: int
) -> None:
    global _WORKER_BUILDER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    memory.tune_malloc()
    threading.Thread(target=_exit_with, args=(run_pid,), name="snapcapi-watch-run", daemon=True).start()
    _WORKER_BUILDER = ChunkBuilder(mapper, ctx, bodies=bodies, encoding=encoding)
    # Building makes many short-lived objects and no reference cycles.
    memory.collect_less()


def _exit_with(run_pid: int) -> None:
    """End this worker once the run that started it is gone: killed (SIGKILL, power cut), nothing else
    would, since a worker's parent is the forkserver, which outlives the run only to exit itself."""
    while True:
        time.sleep(WATCH_SECONDS)
        try:
            os.kill(run_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid now belongs to another user's process: ours is gone
            os._exit(0)


def _build(chunk: Chunk) -> BuildResult:
    assert _WORKER_BUILDER is not None, "a worker builds only after _start_worker"
    return _WORKER_BUILDER.build(chunk)
