"""Batching, concurrency and rate limiting: turns a stream of `Event`s into a stream of `RowOutcome`s.

Events are grouped per asset into requests of at most `batch_size` events and `max_body_bytes` of JSON.
Several requests are in flight at once; Snap's answers become per-row statuses (SPEC section 6): a refusal
naming an event rejects that event and sends the rest again, a refusal naming none is bisected. Every event
given in yields exactly one outcome, even when the run stops early (401/403, or `stop()`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from snapcapi import spec
from snapcapi.errors import AuthError, ConfigError, DeliveryError, EndpointError
from snapcapi.events.wire import encode_json, join_body
from snapcapi.model import EncodedEvent, Event, Problem, RowOutcome, Status, outcome_of
from snapcapi.send.answers import Answer
from snapcapi.send.client import SnapClient

INTERRUPTED = "interrupted"
_SNAP = "snap"  # Problem field of Snap's own reasons
_ROW = "row"  # Problem field of reasons about the row as a whole


def _start_threads(pool: ThreadPoolExecutor, count: int) -> None:
    """Start the pool's `count` threads now, before anything is sent: a pool starts a thread on a submit,
    and a thread that cannot start (a memory or thread limit) would then fail a run with requests in
    flight, whose answers it could no longer record. Raises what starting a thread raised."""
    started = threading.Barrier(count + 1)
    try:
        for _ in range(count):
            pool.submit(started.wait, 10)  # each waits for the others, so that the next submit starts one
        started.wait(10)
    except BaseException:
        started.abort()  # the threads that did start stop waiting
        raise


@dataclass(slots=True)
class _OpenBatch:
    """Events of one asset waiting for their request, with the bytes their JSON adds to the body."""

    events: list[EncodedEvent] = field(default_factory=list)
    nbytes: int = 0
    opened_at: int = 0  # events placed before its first one


@dataclass(frozen=True, slots=True)
class _Result:
    """What one request settled (`outcomes`) and the events to send again in new requests (`again`)."""

    outcomes: list[RowOutcome]
    again: list[list[EncodedEvent]] = field(default_factory=list)


class _RateLimiter:
    """Spaces request starts at least 1/rate apart, across threads."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        # Sleep outside the lock: each caller has reserved its own slot already.
        if start > now:
            self._sleep(start - now)


class Delivery:
    """Sends events through a `SnapClient` and yields what happened to each of them."""

    def __init__(
        self,
        client: SnapClient,
        *,
        batch_size: int = spec.MAX_EVENTS_PER_REQUEST,
        max_body_bytes: int = spec.MAX_BODY_BYTES,
        concurrency: int = 4,
        max_rate: float = spec.MAX_REQUESTS_PER_SECOND,
        validate: bool = False,
        test_event_code: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Raises ConfigError when a limit is out of range."""
        if not 1 <= batch_size <= spec.MAX_EVENTS_PER_REQUEST:
            raise ConfigError(f"the batch size must be 1 to {spec.MAX_EVENTS_PER_REQUEST}, not {batch_size}")
        if concurrency < 1:
            raise ConfigError(f"the concurrency must be at least 1, not {concurrency}")
        if not max_rate > 0:
            raise ConfigError(f"the request rate must be above 0, not {max_rate}")
        self._client = client
        self._batch_size = batch_size
        self._max_body_bytes = max_body_bytes
        self._concurrency = concurrency
        # Submitted-but-unfinished requests: one more than the threads sending, so that a thread that frees
        # up has its next request ready; each holds up to 2 MB of events in memory, so no more.
        self._max_pending = concurrency + 1
        # An asset's open batch goes out, however small, once this many events were placed since its first:
        # its rows are reported in input order, so later rows wait for it (a rare asset among many rows of
        # another would otherwise hold them all until the input ends).
        self._max_wait = batch_size * self._max_pending
        self._placed = 0
        self._validate = validate
        self._test_event_code = test_event_code
        self._envelope_bytes = len(join_body([], test_event_code))
        self._limiter = _RateLimiter(max_rate, clock, sleep)
        self._lock = threading.Lock()
        # A plain flag, not a lock or threading.Event: stop() is called from signal handlers, which run in
        # the main thread between any two bytecodes and must never wait for a lock that thread holds.
        self._stopping = False
        self._stop_reason = INTERRUPTED
        # Why the run stopped sending: Snap refused the credentials, or the API URL is not Snap's.
        self.stopped_by: AuthError | EndpointError | None = None
        self.requests = 0  # requests sent to Snap (each with its own retries), for the report

    def stop(self, reason: str | None = None) -> None:
        """Stop taking events from the input: requests in flight finish, the rest is reported not sent
        (`reason`: why; "interrupted" when not given).

        Safe to call from any thread or from a signal handler.
        """
        if reason is not None and not self._stopping:
            self._stop_reason = reason
        self._stopping = True

    def deliver(self, events: Iterable[Event | EncodedEvent]) -> Iterator[RowOutcome]:
        """Send `events` and yield one outcome per event, in the order requests complete.

        The outcomes of `deliver_batches`, one by one; see there.
        """
        for group in self.deliver_batches(events):
            yield from group

    def deliver_batches(self, events: Iterable[Event | EncodedEvent]) -> Iterator[list[RowOutcome]]:
        """Send `events` and yield their outcomes in groups, one outcome per event overall.

        A group is what one request settled (as requests complete), or events settled without a request
        (too large, or not sent); never empty. Statuses: SENT (VALID in validate mode), REJECTED (refused
        by Snap), INVALID (too large to send) or FAILED (not delivered: network, retries exhausted, auth,
        or stopped before sending). After a 401/403, or an answer that is not Snap's (a wrong API URL),
        `stopped_by` is set and the rest of `events` is read
        and yielded FAILED without a request. After `stop()`, no further event is read. An exception
        raised by `events` is re-raised once the requests in flight have finished and every event read
        has its outcome. Events are taken as `EncodedEvent`s (an `Event` is encoded on the way in): their
        bytes are joined into request bodies as they are.
        """
        source = map(encoded, events)
        opened: dict[str, _OpenBatch] = {}
        ready: deque[list[EncodedEvent]] = deque()
        pending: set[Future[_Result]] = set()
        input_done = False
        input_error: Exception | None = None
        pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="snapcapi-send")
        try:
            _start_threads(pool, self._concurrency)
            while True:
                halt = self._halt_reason()
                if input_error is not None and halt is None:
                    halt = f"not sent: reading the input stopped ({type(input_error).__name__})"
                if halt is not None:
                    for batch in [*ready, *(b.events for b in opened.values())]:
                        yield self._not_sent(batch, halt)
                    ready.clear()
                    opened.clear()
                    if not input_done and self.stopped_by is not None and not self._stopping:
                        # Every event given in gets an outcome, even after Snap refused the credentials.
                        try:
                            for left in source:
                                yield [outcome_of(left, Status.FAILED, (Problem(_ROW, halt),))]
                        except Exception as exc:  # re-raised below, once the requests in flight are in
                            input_error = exc
                    input_done = True
                elif ready and len(pending) < self._max_pending:
                    pending.add(pool.submit(self._send, ready.popleft()))
                    continue
                elif not input_done and not ready and len(pending) < self._max_pending:
                    # Read events until a batch is full, the input ends or the run is stopped.
                    while True:
                        try:
                            event: EncodedEvent | None = next(source, None)
                        except Exception as exc:  # re-raised below, once what was read is accounted for
                            input_error = exc
                            break
                        if event is None:
                            input_done = True
                            ready.extend(batch.events for batch in opened.values())
                            opened.clear()
                            break
                        rejected = self._place(event, opened, ready)
                        if rejected is not None:
                            yield [rejected]
                        if ready or self._stopping or self.stopped_by is not None:
                            break
                    continue
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    result = future.result()
                    if result.outcomes:
                        yield result.outcomes
                    # Resent parts go first: they finish what is already in memory.
                    ready.extendleft(reversed(result.again))
        finally:
            # Only reached with work left when the consumer closed the generator or something raised.
            pool.shutdown(wait=True, cancel_futures=True)
        if input_error is not None:
            raise input_error

    def _halt_reason(self) -> str | None:
        if self.stopped_by is not None:
            return f"not sent: {self.stopped_by}"
        if self._stopping:
            return f"not sent: {self._stop_reason}"
        return None

    def _place(
        self, event: EncodedEvent, opened: dict[str, _OpenBatch], ready: deque[list[EncodedEvent]]
    ) -> RowOutcome | None:
        """Add `event` to its asset's open batch, moving full batches to `ready`; an oversized event's
        INVALID outcome is returned instead."""
        size = len(event.body)
        if self._envelope_bytes + size > self._max_body_bytes:
            problem = Problem(
                _ROW,
                f"the event is {size} bytes as JSON, more than a request may carry ({self._max_body_bytes})",
            )
            return outcome_of(event, Status.INVALID, (problem,))
        batch = opened.get(event.asset_id)
        # Each event after the first adds a comma.
        if batch is not None and self._envelope_bytes + batch.nbytes + 1 + size > self._max_body_bytes:
            ready.append(opened.pop(event.asset_id).events)
            batch = None
        if batch is None:
            batch = opened[event.asset_id] = _OpenBatch(opened_at=self._placed)
        self._placed += 1
        batch.nbytes += size + (1 if batch.events else 0)
        batch.events.append(event)
        if len(batch.events) >= self._batch_size:
            ready.append(opened.pop(event.asset_id).events)
        if len(opened) > 1:
            oldest = self._placed - self._max_wait
            for asset in [a for a, b in opened.items() if b.opened_at <= oldest]:
                ready.append(opened.pop(asset).events)
        return None

    def _send(self, batch: list[EncodedEvent]) -> _Result:
        """Send one request (in a worker thread) and settle what Snap's answer settles."""
        halt = self._halt_reason()
        if halt is not None:  # queued before the stop: never sent
            return _Result(self._not_sent(batch, halt))
        self._limiter.wait()
        with self._lock:
            self.requests += 1
        try:
            answer = self._client.post_encoded(
                batch[0].asset_id,
                [event.body for event in batch],
                validate=self._validate,
                test_event_code=self._test_event_code,
            )
        except (AuthError, EndpointError) as exc:
            with self._lock:
                if self.stopped_by is None:
                    self.stopped_by = exc
            return _Result(self._all(batch, Status.FAILED, (Problem(_ROW, str(exc)),)))
        except DeliveryError as exc:
            return _Result(self._all(batch, Status.FAILED, (Problem(_ROW, str(exc)),)))
        if answer.ok:
            return _Result(self._accepted(batch, answer))
        return self._refused(batch, answer)

    def _accepted(self, batch: list[EncodedEvent], answer: Answer) -> list[RowOutcome]:
        if not self._validate:
            return self._all(batch, Status.SENT)
        logs = {log.index: log for log in answer.event_logs}
        outcomes = []
        for index, event in enumerate(batch):
            log = logs.get(index)
            warnings = () if log is None else tuple(Problem(_SNAP, w) for w in log.warnings)
            verdict = answer.status if log is None else log.status
            if (verdict or "").upper() == "INVALID":
                messages = log.errors if log is not None and log.errors else (answer.reason,)
                errors = tuple(Problem(_SNAP, m) for m in messages)
                outcomes.append(outcome_of(event, Status.REJECTED, errors, warnings))
            else:
                outcomes.append(outcome_of(event, Status.VALID, (), warnings))
        return outcomes

    def _refused(self, batch: list[EncodedEvent], answer: Answer) -> _Result:
        index = answer.event_index
        if answer.status_code == 413 or index is None or not 0 <= index < len(batch):
            if len(batch) == 1:
                return _Result([outcome_of(batch[0], Status.REJECTED, _reasons(answer))])
            # No event named: halves, recursively, until each bad event is alone in its request.
            middle = len(batch) // 2
            return _Result([], [batch[:middle], batch[middle:]])
        # Snap took nothing of this request: the named event is out, the others go again.
        rest = batch[:index] + batch[index + 1 :]
        return _Result([outcome_of(batch[index], Status.REJECTED, _reasons(answer))], [rest] if rest else [])

    def _not_sent(self, batch: Sequence[EncodedEvent], reason: str) -> list[RowOutcome]:
        return self._all(batch, Status.FAILED, (Problem(_ROW, reason),))

    def _all(
        self, batch: Sequence[EncodedEvent], status: Status, errors: tuple[Problem, ...] = ()
    ) -> list[RowOutcome]:
        return [outcome_of(event, status, errors) for event in batch]


def _reasons(answer: Answer) -> tuple[Problem, ...]:
    """Snap's reason and error messages for a refused event, without repeats."""
    messages = dict.fromkeys(m for m in (answer.reason, *answer.error_messages) if m)
    return tuple(Problem(_SNAP, m) for m in messages) or (Problem(_SNAP, f"HTTP {answer.status_code}"),)


def encoded(event: Event | EncodedEvent) -> EncodedEvent:
    """Return `event` as delivery takes it: an `Event`'s payload encoded once (`wire.encode_json`)."""
    if isinstance(event, EncodedEvent):
        return event
    return EncodedEvent(
        event.file,
        event.line,
        event.asset_id,
        event.event_name.value,
        event.event_id,
        encode_json(event.payload),
        event.warnings,
    )
