"""The default `CORS_ALLOW_HEADERS` and `CORS_ALLOW_METHODS`, as django-cors-headers' `defaults`.

Settings files import them (`from corsfast.django.defaults import default_headers`) to extend
the defaults.
"""

from __future__ import annotations

__all__ = ("default_headers", "default_methods")

default_headers = (
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
)

default_methods = (
    "DELETE",
    "GET",
    "OPTIONS",
    "PATCH",
    "POST",
    "PUT",
)
