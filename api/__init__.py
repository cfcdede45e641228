"""Surfaces over HTTP and the command line: the FastAPI app (``api.app``), settings and ``stagecraft``.

``api`` calls the layers below (workflow, metamodel) and never runs SQL of its own.
"""
