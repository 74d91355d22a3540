"""`corsfast.flask.version`: the flask-cors version whose behaviour `corsfast.flask` reproduces.

`__version__` is "6.0.5" whatever flask-cors is installed, or none: `corsfast.flask` answers
as flask-cors 6.0.5 does (but for the documented security fixes), so code that checks
`flask_cors.__version__` to choose what to expect takes the branch that matches its answers.

flask-cors up to 6.0.2 has a `flask_cors.version` module holding `__version__`; from 6.0.3
on, `flask_cors.version` is `importlib.metadata.version`, imported into the package. This
module serves both: `from corsfast.flask.version import __version__` works, and so does
`corsfast.flask.version("flask-cors")`.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as _distribution_version
from types import ModuleType

__all__ = ("__version__",)

__version__ = "6.0.5"


class _VersionModule(ModuleType):
    """This module, callable as flask-cors 6.0.5's `flask_cors.version` is."""

    def __call__(self, distribution_name: str) -> str:
        """Return the installed version of a distribution (`importlib.metadata.version`)."""
        return _distribution_version(distribution_name)


sys.modules[__name__].__class__ = _VersionModule
