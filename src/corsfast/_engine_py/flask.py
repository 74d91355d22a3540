"""The flask-cors dialect (`corsfast.flask`): the twin of `_engine_c_flask.pxi`."""

__all__ = ()
