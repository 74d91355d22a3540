"""`corsfast.flask`: flask-cors 6.0.5's `CORS` and `cross_origin`, compiled.

Change `from flask_cors import CORS, cross_origin` to
`from corsfast.flask import CORS, cross_origin`; the options, their defaults, accepted
types and precedence, the hooks Flask runs and the headers they write are flask-cors',
but for the security fixes listed in the README's "Differences from flask-cors" (origin
patterns are full-matched, the path is decoded once, control characters never match).

    app = Flask(__name__)
    CORS(app, resources={r"/api/*": {"origins": ["https://app.example.com"]}})

    @app.route("/public")
    @cross_origin(origins="*", max_age=600)
    def public(): ...

The modules are flask-cors': `corsfast.flask.extension` (`CORS`), `corsfast.flask.decorator`
(`cross_origin`), `corsfast.flask.core` (the constants and helpers) and
`corsfast.flask.version`; `__version__` is the flask-cors version whose behaviour this
package reproduces, "6.0.5". The options are resolved once (per resource, per decorated
view and app config) into the engine's `FlaskPolicy`; each request then runs one compiled
function that appends the ready header tuples to the Werkzeug response.
"""

from __future__ import annotations

# `x as x`: names flask_cors has, re-exported for code that imports them from it.
import logging as logging
from importlib.metadata import PackageNotFoundError as PackageNotFoundError
from logging import NullHandler as NullHandler

from . import core as core, decorator as decorator, extension as extension, version as version
from ._hooks import _context as _context
from .decorator import _NO_CONFIG as _NO_CONFIG, cross_origin
from .extension import CORS
from .version import __version__

__all__ = ["CORS", "__version__", "cross_origin"]

# As flask-cors: its loggers ("flask_cors", "flask_cors.core", ...) stay quiet below WARNING
# unless the application configures them, and have a handler, so Python's last-resort
# handler never prints their records.
rootlogger = logging.getLogger("flask_cors")
rootlogger.addHandler(NullHandler())
if rootlogger.level == logging.NOTSET:
    rootlogger.setLevel(logging.WARN)
