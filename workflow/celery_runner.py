"""The scale-out runner: a Celery app whose one task runs a claimed instance (``stagecraft worker``).

DESIGN.md decision 5: the same engine functions as the in-process runner, over the same rows.  The
worker's main process runs a :class:`workflow.ticker.Ticker` that consumes the outbox, fires timers
and claims due instances, and sends each claim as ``stagecraft.run_instance(instance_id, lease)``;
the pool's processes run them.  Any number of workers on any number of machines is safe: claims
are disjoint (``FOR UPDATE SKIP LOCKED``), and a task whose lease is no longer current does nothing.

Why these Celery settings:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after its run
  returns, and a pool process killed mid-run puts its message back — a second chance that costs
  nothing, because the lease check makes a stale or repeated task a no-op.
* ``worker_prefetch_multiplier=1``: a busy process holds no queue of claims whose leases tick away.
* No ``eta`` / ``countdown``, ever: Redis redelivers reserved ETA messages after the visibility
  timeout, so long waits would run several times.  Waits are ``wake_at`` rows; the tick claims them
  when due and only then sends a task to run at once.
* The visibility timeout only bounds how long a message of a killed worker stays unacknowledged in
  Redis.  Work itself never depends on it — the lease rescues a dead worker's runs much sooner.

Why the prefork pool (not threads): a pool process that dies — SIGKILL, the OOM killer, a crash in
a driver — takes only its own run with it; the main process (and its ticker) sees the loss, puts
the message back (``task_reject_on_worker_lost``) and forks a new process, so the run goes on at
once instead of after its lease.  With a threads pool the same death takes the whole worker down.
When the whole process group dies, both recover the same way: through the leases.  Each pool
process opens its own engine after the fork (``worker_process_init``) and drops the pools it
inherited without closing them — those sockets belong to the parent.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import Celery, signals
from sqlalchemy.engine import Engine

from metamodel.db import create_engine_for
from workflow.interpreter import run_instance
from workflow.runtime import Runtime, WorkflowConfig
from workflow.ticker import Claim, Ticker

log = logging.getLogger("stagecraft.workflow")

TASK_NAME = "stagecraft.run_instance"
QUEUE = "stagecraft"
#: Seconds Redis keeps a message of a silent worker before handing it to another (a backstop only).
VISIBILITY_TIMEOUT = 300
#: Claims waiting in the queue per pool process: enough to keep every process busy, no more.
QUEUE_DEPTH_PER_PROCESS = 4


@dataclass
class _ProcessState:
    """What the task needs in whichever process runs it: built lazily, once per process."""

    database_url: str = ""
    config: WorkflowConfig = field(default_factory=WorkflowConfig)
    runtime: Runtime | None = None
    pid: int = 0
    engines: list[tuple[int, Engine]] = field(default_factory=list)  # (pid that made it, engine)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATE = _ProcessState()


def create_celery(broker_url: str, database_url: str, config: WorkflowConfig | None = None) -> Celery:
    """The Celery app of Stagecraft on ``broker_url``; its task runs instances in ``database_url``."""
    _STATE.database_url = database_url
    _STATE.config = config or WorkflowConfig()
    app = Celery("stagecraft", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME, ignore_result=True)(run_claimed)
    return app


def run_claimed(instance_id: int, lease: str) -> None:
    """The task: advance one claimed instance (a no-op when ``lease`` is no longer its lease)."""
    run_instance(process_runtime(), int(instance_id), str(lease))


def process_runtime() -> Runtime:
    """This process's runtime, with an engine of its own (never one inherited through fork)."""
    with _STATE.lock:
        if _STATE.runtime is None or _STATE.pid != os.getpid():
            _forget_inherited()
            worker = f"celery@{socket.gethostname()}:{os.getpid()}"
            _STATE.runtime = Runtime(own_engine(_STATE.database_url), config=_STATE.config, worker=worker)
            _STATE.pid = os.getpid()
        return _STATE.runtime


def own_engine(database_url: str) -> Engine:
    """An engine of this process, remembered so a process forked from this one can drop it."""
    engine = create_engine_for(database_url)
    _STATE.engines.append((os.getpid(), engine))
    return engine


def _forget_inherited() -> None:
    """Drop the pools made by a parent process without closing their connections (the parent's sockets)."""
    here = os.getpid()
    for _, engine in [(pid, e) for pid, e in _STATE.engines if pid != here]:
        engine.dispose(close=False)
    _STATE.engines[:] = [(pid, e) for pid, e in _STATE.engines if pid == here]
    if _STATE.pid != here:
        _STATE.runtime = None


def _after_fork(**_: Any) -> None:
    """A new pool process: forget the engines of the process it was forked from, build its own."""
    _STATE.lock = threading.Lock()  # the parent's lock may have been held at fork time
    process_runtime()


signals.worker_process_init.connect(_after_fork, weak=False)


class CeleryDispatcher:
    """Sends claims as tasks; the queue's room is ``depth`` minus the messages already waiting.

    Used by the ticker thread only; it keeps one broker connection for its queue-length reads
    (the ticker asks several times a second) and makes a new one after an error.
    """

    def __init__(self, app: Celery, depth: int) -> None:
        self.app = app
        self.depth = depth
        self.task = app.tasks[TASK_NAME]
        self._conn: Any = None

    def room(self) -> int:
        try:
            if self._conn is None:
                self._conn = self.app.connection_for_read()
            _, waiting, _ = self._conn.default_channel.queue_declare(queue=QUEUE, passive=True)
        except Exception as exc:  # no queue yet (nothing sent) or the broker is away: claim a little
            log.debug("could not read the queue length: %s", exc)
            self.close()
            waiting = 0
        return max(0, self.depth - int(waiting))

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.release()
            except Exception as exc:  # already broken: nothing left to release
                log.debug("closing the queue-length connection: %s", exc)

    def send(self, claims: Sequence[Claim]) -> int:
        sent = 0
        try:
            with self.app.producer_or_acquire() as producer:
                for instance_id, lease in claims:
                    self.task.apply_async(args=(instance_id, lease), producer=producer)
                    sent += 1
        except Exception:
            log.exception("sending runs to the broker failed")
        return sent


def broker_problem(app: Celery, timeout: float = 3.0) -> str | None:
    """None when the broker answers within ``timeout`` seconds, else the reason in one line."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def run_worker(app: Celery, *, concurrency: int, loglevel: str = "INFO", pool: str = "prefork") -> None:
    """Run the Celery worker of ``app`` with its ticker until the worker shuts down (blocks)."""
    engine = own_engine(_STATE.database_url)  # pool processes forked later drop its connections
    ticker_runtime = Runtime(engine, config=_STATE.config, worker=f"ticker@{socket.gethostname()}")
    dispatcher = CeleryDispatcher(app, depth=concurrency * QUEUE_DEPTH_PER_PROCESS)
    ticker = Ticker(ticker_runtime, dispatcher)

    def start_ticker(**_: Any) -> None:
        ticker.start()  # once the pool has forked: the processes start without the ticker's thread

    signals.worker_ready.connect(start_ticker, weak=False)
    try:
        app.worker_main(["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
                         f"--pool={pool}", f"--queues={QUEUE}", "--without-gossip", "--without-mingle",
                         f"--hostname=stagecraft-{os.getpid()}@{socket.gethostname()}"])
    finally:
        signals.worker_ready.disconnect(start_ticker)
        ticker.stop()
        dispatcher.close()
        engine.dispose()
