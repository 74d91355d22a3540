"""corsfast: a compiled CORS engine with a pure-Python twin and thin framework shims."""

from .__version__ import __version__
from ._cache_info import CacheInfo
from ._engine import NO_EXTENSIONS
from ._observe.registry import stats
from ._observe.stats import CORSStats, ReportOnlyStats
from ._options import CORSConfigWarning
from .asgi import CORSMiddleware

__all__ = (
    "NO_EXTENSIONS",
    "CORSConfigWarning",
    "CORSMiddleware",
    "CORSStats",
    "CacheInfo",
    "ReportOnlyStats",
    "__version__",
    "stats",
)
