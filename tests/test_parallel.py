"""The chunk pool: results in input order whoever built them, and a reading error after them.

Restored without the warm-up it was first written for (reverted): the pool's promises stand without it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.read.open import SourceSpec, open_source
from snapcapi.run.chunks import BuildResult, Chunk, read_chunks
from snapcapi.run.workers import IN_FLIGHT_PER_WORKER, ChunkPool
from snapcapi.spec import ActionSource

CTX = BuildContext(now=1_790_000_000, pixel_id="pixel", default_action_source=ActionSource.OFFLINE)


def write_csv(path: Path, rows: int) -> Path:
    lines = ["event_name,event_time,event_id,email"]
    lines += [f"PURCHASE,{1_790_000_000 - i},id-{i},user{i}@example.com" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def chunks_of(path: Path, size: int) -> Iterator[tuple[int, Chunk]]:
    source = open_source(SourceSpec(str(path)))
    stop = threading.Event()
    pieces = read_chunks([source], Mapper(MappingConfig()), size=size, limit=None, stop=stop, unused={})
    for index, (_, chunk) in enumerate(pieces):
        yield index, chunk


def build_all(path: Path, size: int, workers: int) -> list[tuple[int, BuildResult]]:
    with ChunkPool(Mapper(MappingConfig()), CTX, workers) as pool:
        return list(pool.map(chunks_of(path, size)))


def test_workers_give_the_results_one_process_gives_in_the_same_order(tmp_path: Path) -> None:
    # The first chunk is built here, the rest by the workers, many more than are ever in flight at once.
    chunks = 2 * IN_FLIGHT_PER_WORKER + 20
    path = write_csv(tmp_path / "events.csv", rows=chunks * 7)
    alone = build_all(path, size=7, workers=1)
    pooled = build_all(path, size=7, workers=2)
    assert [key for key, _ in pooled] == list(range(chunks))
    assert pooled == alone
    lines = [built[0] for _, (results, _, _) in pooled for built in results]
    assert lines == list(range(2, 2 + chunks * 7))


def test_a_reading_error_comes_after_the_chunks_read_before_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", rows=50 * 5)

    def failing() -> Iterator[tuple[int, Chunk]]:
        for index, chunk in chunks_of(path, size=5):
            if index == 30:
                raise OSError("disk gone")
            yield index, chunk

    seen: list[int] = []

    def read_all() -> None:
        with ChunkPool(Mapper(MappingConfig()), CTX, 2) as pool:
            seen.extend(key for key, _ in pool.map(failing()))

    with pytest.raises(OSError, match="disk gone"):
        read_all()
    assert seen == list(range(30))


def test_closing_ends_workers_their_manager_thread_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a memory limit the pool's manager thread can die (a thread it needs cannot start), and then
    nothing tells the worker processes to stop: a run that waited for them at exit never ended (issue 18
    re-trial, `ulimit -v 100000`). Closing the pool ends the processes a shutdown left alive."""
    from concurrent.futures import ProcessPoolExecutor

    path = write_csv(tmp_path / "events.csv", rows=20 * 5)
    pool = ChunkPool(Mapper(MappingConfig()), CTX, 2)
    assert len(list(pool.map(chunks_of(path, size=5)))) == 20
    executor = pool._executor
    assert executor is not None
    processes = list(executor._processes.values())
    assert processes
    assert all(p.is_alive() for p in processes)
    # What a dead manager thread gives: a shutdown that tells the processes nothing.
    monkeypatch.setattr(ProcessPoolExecutor, "shutdown", lambda self, wait=True, cancel_futures=False: None)
    pool.close()
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()
    monkeypatch.undo()
    executor.shutdown(wait=True)  # the manager thread, still running here, ends too
