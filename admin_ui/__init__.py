"""The admin UI's pages: kanban boards, record cards, tasks and workflow runs.

Calls the layers below like ``api`` does, and never imports ``api``.
"""
