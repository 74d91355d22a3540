"""`conf`: django-cors-headers' settings with their defaults and legacy names, read on access,
and corsfast's own `CORSFAST_*` settings.

The middleware does not read these per request: `corsfast.django._compile` reads them once
through `conf`, and again after Django's `setting_changed` signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from re import Pattern
from typing import Any, Union, cast

from django.conf import settings

from .defaults import default_headers, default_methods

__all__ = ("Settings", "conf")


class Settings:
    """Shadow Django's settings: each property is one CORS setting, its default, its old name."""

    @property
    def CORS_ALLOW_HEADERS(self) -> Sequence[str]:
        return getattr(settings, "CORS_ALLOW_HEADERS", default_headers)

    @property
    def CORS_ALLOW_METHODS(self) -> Sequence[str]:
        return getattr(settings, "CORS_ALLOW_METHODS", default_methods)

    @property
    def CORS_ALLOW_CREDENTIALS(self) -> bool:
        return getattr(settings, "CORS_ALLOW_CREDENTIALS", False)

    @property
    def CORS_ALLOW_PRIVATE_NETWORK(self) -> bool:
        return getattr(settings, "CORS_ALLOW_PRIVATE_NETWORK", False)

    @property
    def CORS_PREFLIGHT_MAX_AGE(self) -> int:
        return getattr(settings, "CORS_PREFLIGHT_MAX_AGE", 86400)

    @property
    def CORS_ALLOW_ALL_ORIGINS(self) -> bool:
        # The new name wins over the old one when both are set.
        return getattr(settings, "CORS_ALLOW_ALL_ORIGINS", getattr(settings, "CORS_ORIGIN_ALLOW_ALL", False))

    @property
    def CORS_ALLOWED_ORIGINS(self) -> Union[list[str], tuple[str]]:
        value = getattr(settings, "CORS_ALLOWED_ORIGINS", getattr(settings, "CORS_ORIGIN_WHITELIST", ()))
        return cast(Union[list[str], tuple[str]], value)

    @property
    def CORS_ALLOWED_ORIGIN_REGEXES(self) -> Sequence[Union[str, Pattern[str]]]:
        return getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", getattr(settings, "CORS_ORIGIN_REGEX_WHITELIST", ()))

    @property
    def CORS_EXPOSE_HEADERS(self) -> Sequence[str]:
        return getattr(settings, "CORS_EXPOSE_HEADERS", ())

    @property
    def CORS_URLS_REGEX(self) -> Union[str, Pattern[str]]:
        return getattr(settings, "CORS_URLS_REGEX", r"^.*$")

    # corsfast's own settings: what the middleware observes of its decisions.

    @property
    def CORSFAST_NAME(self) -> Any:
        return getattr(settings, "CORSFAST_NAME", "django")

    @property
    def CORSFAST_LOG_INTERVAL(self) -> Any:
        return getattr(settings, "CORSFAST_LOG_INTERVAL", 60)

    @property
    def CORSFAST_TOP_REFUSED_SIZE(self) -> Any:
        return getattr(settings, "CORSFAST_TOP_REFUSED_SIZE", 32)

    @property
    def CORSFAST_REPORT_ONLY(self) -> Any:
        return getattr(settings, "CORSFAST_REPORT_ONLY", None)


conf = Settings()
