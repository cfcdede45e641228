"""The ``.craft`` language: grammar, AST, checker, compiler to plans, and expression evaluator.

Knows nothing of storage: programs are checked against a schema protocol that ``metamodel`` implements.
"""
