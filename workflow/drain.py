"""One pass of everything a runner does: consume the outbox, fire timers, run due instances.

Both runners call these functions — the in-process runner from a thread inside ``stagecraft
serve``, the Celery runner from its tick and tasks — and the simulator calls :func:`drain` after
each scenario step, so there is one engine whatever runs it.
"""

from __future__ import annotations

from workflow import ops_outside, ops_people, ops_records  # noqa: F401  (registers the step handlers)
from workflow.broadcasts_run import tick_broadcasts
from workflow.consumer import consume_outbox
from workflow.instances import claim_due
from workflow.interpreter import run_instance
from workflow.runtime import Runtime
from workflow.timers import fire_due_timers, sync_workspaces


def tick(runtime: Runtime, batch: int = 100) -> int:
    """One round: returns how much work it found (0 means idle)."""
    sync_workspaces(runtime)
    work = consume_outbox(runtime, limit=batch * 5)
    work += fire_due_timers(runtime, limit=batch)
    claimed = claim_due(runtime.engine, runtime.clock.now(), limit=batch, lease_for=runtime.config.lease,
                        workspace=runtime.workspace)
    for instance_id, lease in claimed:
        run_instance(runtime, instance_id, lease)
    work += tick_broadcasts(runtime)
    return work + len(claimed)


def drain(runtime: Runtime, max_rounds: int = 1000) -> int:
    """Tick until there is nothing left to do now; returns the work done."""
    total = 0
    for _ in range(max_rounds):
        done = tick(runtime)
        if not done:
            break
        total += done
    return total
