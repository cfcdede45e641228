"""Records: the one repository every upper layer reads and writes through.

Public names only; other packages import from here, never from the modules.
"""

from metamodel.records.actor import SYSTEM_ACTOR, Actor
from metamodel.records.query import MAX_PAGE, Page
from metamodel.records.store import Record, RecordStore

__all__ = ["MAX_PAGE", "SYSTEM_ACTOR", "Actor", "Page", "Record", "RecordStore"]
