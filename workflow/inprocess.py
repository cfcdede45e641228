"""The embedded runner: worker threads and a timer tick inside ``stagecraft serve``.

Not Celery's eager mode (which runs countdowns and retries at once and keeps nothing): the threads
run the same :func:`workflow.drain.tick` as the Celery runner, over the same database rows, so a
restart loses nothing — work is rows, and the first tick after a restart picks it up (a run that
was mid-step when the process died is rescued when its lease runs out).
"""

from __future__ import annotations

import logging
import threading

from workflow.drain import tick
from workflow.runtime import Runtime

log = logging.getLogger("stagecraft.workflow")


class InProcessRunner:
    """``threads`` workers polling every ``interval`` seconds (sooner when :meth:`poke` is called)."""

    def __init__(self, runtime: Runtime, *, threads: int = 1, interval: float = 0.5) -> None:
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"stagecraft-workflow-{i}", daemon=True)
                         for i in range(threads)]

    def start(self) -> InProcessRunner:
        for thread in self._threads:
            thread.start()
        return self

    def poke(self) -> None:
        """Something was written: look for work now instead of at the next interval."""
        self._poke.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._poke.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = tick(self.runtime)
            except Exception:  # a bad tick must not kill the runner; the rows stay for the next one
                log.exception("workflow tick failed; retrying at the next interval")
                busy = 0
            if not busy:
                self._poke.wait(self.interval)
                self._poke.clear()
