"""Records: the one repository every upper layer reads and writes through.

Public names only; other packages import from here, never from the modules.
"""

from metamodel.records.actor import SYSTEM_ACTOR, Actor
from metamodel.records.store import Record, RecordStore

__all__ = ["SYSTEM_ACTOR", "Actor", "Record", "RecordStore"]
