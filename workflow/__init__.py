"""Triggers, automations, the process engine, actions and the in-process and Celery runners.

Consumes the metamodel's outbox; never talks HTTP.
"""
