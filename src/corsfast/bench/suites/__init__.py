"""The tables of `corsfast bench`, one module each, imported when the command starts.

A module here registers a suite at import (`corsfast.bench.suite.register_suite`) or adds
rows to one (`from .asgi import SUITE; SUITE.add_contenders(...)`); it must import without
its framework (import the framework inside the builders and name it in `Suite.requires` or
`Contender.module`). Modules whose name starts with "_" are not imported.
"""

__all__ = ()
