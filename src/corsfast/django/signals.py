"""`check_request_enabled`: a receiver that returns a truthy value enables CORS for the request.

As in django-cors-headers: it is asked when `CORS_URLS_REGEX` does not match the path (and
then it enables the URL), and when the settings do not allow the request's Origin (and then
it allows the Origin). Receivers get `sender=None` and `request`.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ("check_request_enabled",)

check_request_enabled = Signal()
