"""Records: the one repository every upper layer reads and writes through.

Public names only; other packages import from here, never from the modules.
"""

from metamodel.records.actor import SYSTEM_ACTOR, Actor
from metamodel.records.funnel import Funnel, FunnelQuery, FunnelStage, LostStage, funnel_query, read_funnel
from metamodel.records.notes import MAX_NOTE_LENGTH, MAX_NOTES, NoteRow, add_note, list_notes
from metamodel.records.projection import ProjectedPage, list_projected, many_lists
from metamodel.records.query import MAX_PAGE, Page
from metamodel.records.store import Record, RecordStore

__all__ = ["MAX_NOTES", "MAX_NOTE_LENGTH", "MAX_PAGE", "SYSTEM_ACTOR", "Actor", "Funnel", "FunnelQuery",
           "FunnelStage", "LostStage", "NoteRow", "Page", "ProjectedPage", "Record", "RecordStore",
           "add_note", "funnel_query", "list_notes", "list_projected", "many_lists", "read_funnel"]
