"""corsfast: a compiled CORS engine with a pure-Python twin and thin framework shims."""

from .__version__ import __version__
from ._cache_info import CacheInfo
from ._engine import NO_EXTENSIONS
from ._options import CORSConfigWarning
from .asgi import CORSMiddleware

__all__ = ("NO_EXTENSIONS", "CORSConfigWarning", "CORSMiddleware", "CacheInfo", "__version__")
