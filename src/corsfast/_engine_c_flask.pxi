# Included by _engine_c.pyx (one extension module):
# the flask-cors dialect (corsfast.flask); twin: _engine_py/flask.py.

_FLASK_ALL = ()
