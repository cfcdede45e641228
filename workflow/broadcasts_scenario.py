"""The ``broadcast:`` step of simulation scenarios: send to a segment, then ``expect`` the messages.

```yaml
- broadcast: Contact
  where: {tags: {hasAny: [buyer, seller]}}
  channel: email
  subject: "New listings for {name}"
  body: "Hello {name}, ..."
```

``to`` (the address field) and ``opt_out`` (the boolean that skips a record, ``unsubscribed`` by
default) are optional, as in the mutation.  The step queues the broadcast through the same
:func:`workflow.broadcasts.create_broadcast` the API uses and drains the engine, so the messages
are in ``expect: {messages: …}`` at once; a bad broadcast stops the scenario with its places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.broadcasts import BroadcastSpec, create_broadcast
from workflow.scenario_expect import YamlPath

if TYPE_CHECKING:
    from workflow.scenario import _StepReader
    from workflow.simulation import Simulation

#: The keys a ``broadcast`` step may have besides ``broadcast`` itself.
BROADCAST_KEYS = ("where", "channel", "subject", "body", "to", "opt_out")


@dataclass(frozen=True, slots=True, kw_only=True)
class Broadcast:
    """``broadcast: Entity`` with its segment and message: the same spec the mutation and CLI send."""

    spec: BroadcastSpec
    line: int = field(default=0, compare=False)

    def run(self, sim: Simulation) -> None:
        """Carry the step out on ``sim`` (see :func:`run_broadcast`)."""
        run_broadcast(sim, self)


def read_broadcast(r: _StepReader, item: dict[str, Any], path: YamlPath) -> Broadcast:
    """The step as written; what it means (fields, templates) is checked when it runs."""
    where = r.found.mapping(item["where"], (*path, "where"), "{tags: {hasAny: [vip]}}") \
        if "where" in item else None
    return Broadcast(spec=BroadcastSpec(entity=r.found.text(item, path, "broadcast") or "",
                                        channel=r.found.text(item, path, "channel") or "",
                                        body=r.found.text(item, path, "body") or "",
                                        subject=r.found.text(item, path, "subject", required=False),
                                        where=_plain(where) if where else None,
                                        to=r.found.text(item, path, "to", required=False),
                                        opt_out=r.found.text(item, path, "opt_out", required=False)))


def _plain(value: Any) -> Any:
    """YAML values as plain JSON types (the segment is stored as JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def run_broadcast(sim: Simulation, step: Broadcast) -> None:
    """Queue the broadcast and let the engine send it; the timeline gets the engine's own lines
    (queued, one per message or skipped record, done with the counts)."""
    create_broadcast(sim.runtime, sim.workspace, step.spec, created_by="scenario")
    sim.settle()
