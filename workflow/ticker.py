"""The dispatching tick of the scale-out runner: what :func:`workflow.drain.tick` does, minus running.

Why a separate tick: on Celery the process that finds work is not the one that does it.  The tick
consumes the outbox, fires timers and claims due instances exactly as the in-process tick does,
then SENDS each claim as a task instead of running it inline.  The database stays the only source
of truth: a claim that is never sent (the broker is down, the process dies between claim and
send) simply expires with its lease and is claimed again, and a task for a lease that is no longer
current is a no-op (``run_instance`` checks the lease) — so losing or repeating a message is safe.

Backpressure: the tick claims only as many instances as the queue has room for.  A claim starts
the lease clock; claiming faster than the workers drain the queue would let leases run out while
their tasks still wait in the queue, and every instance would be re-claimed (and its pending task
made stale) again and again.  Bounding the queue keeps the time from claim to run short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from workflow import ops_outside, ops_people, ops_records  # noqa: F401  (registers the step handlers)
from workflow.broadcasts_run import tick_broadcasts
from workflow.consumer import consume_outbox
from workflow.instances import claim_due
from workflow.runtime import Runtime
from workflow.timers import fire_due_timers, sync_workspaces

log = logging.getLogger("stagecraft.workflow")

Claim = tuple[int, str]


class Dispatcher(Protocol):
    """Where claimed instances go: a task queue (Celery), or anything a test supplies."""

    def room(self) -> int:
        """How many more claims the queue should take now (0 when it is full enough)."""
        ...

    def send(self, claims: Sequence[Claim]) -> int:
        """Send one task per claim; returns how many were sent (the rest expire and are re-claimed)."""
        ...


class Round(NamedTuple):
    """What one tick did: how much work it found, and whether the queue was too full to claim."""

    work: int
    full: bool


def dispatch_tick(runtime: Runtime, dispatcher: Dispatcher, batch: int = 100) -> Round:
    """One round of the scale-out runner (``work`` 0 and not ``full`` means idle)."""
    sync_workspaces(runtime)
    work = consume_outbox(runtime, limit=batch * 5)
    work += fire_due_timers(runtime, limit=batch)
    work += tick_broadcasts(runtime)  # broadcasts are delivered by the ticker itself (no task of their own)
    room = min(batch, dispatcher.room())
    if room <= 0:
        return Round(work, full=True)
    claimed = claim_due(runtime.engine, runtime.clock.now(), limit=room, lease_for=runtime.config.lease,
                        workspace=runtime.workspace)
    if claimed:
        sent = dispatcher.send(claimed)
        if sent < len(claimed):
            log.warning("sent %d of %d claimed runs; the rest are re-claimed when their lease ends",
                        sent, len(claimed))
    return Round(work + len(claimed), full=False)


class Ticker:
    """A thread running :func:`dispatch_tick`: at once again while busy, every ``interval`` when idle.

    While the queue is full it looks again every ``full_interval``: the workers drain a short queue
    fast, and waiting a whole ``interval`` would leave them without work.
    """

    def __init__(self, runtime: Runtime, dispatcher: Dispatcher, *, interval: float = 0.2,
                 full_interval: float = 0.05) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher
        self.interval = interval
        self.full_interval = full_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stagecraft-ticker", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = dispatch_tick(self.runtime, self.dispatcher)
            except Exception:  # the database or broker hiccuped: the rows stay for the next tick
                log.exception("workflow dispatch tick failed; retrying at the next interval")
                done = Round(0, full=False)
            if not done.work:
                self._stop.wait(self.full_interval if done.full else self.interval)
