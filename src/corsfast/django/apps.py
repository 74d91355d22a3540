"""The app config: `"corsfast.django"` in INSTALLED_APPS registers the system checks.

django-cors-headers' check runs with every `manage.py check` (and `runserver`), as
django-cors-headers registers it, and so does the check of corsfast's own `CORSFAST_*` settings;
corsfast's own warnings are deployment checks, run by
`manage.py check --deploy`.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import Tags, register

from .checks import check_corsfast_settings, check_deploy_settings, check_settings

__all__ = ("CorsHeadersAppConfig",)


class CorsHeadersAppConfig(AppConfig):  # type: ignore[misc]
    """django-cors-headers' app config, under its own label (both may be installed at once)."""

    name = "corsfast.django"
    label = "corsfast_django"
    verbose_name = "corsfast (django-cors-headers)"

    def ready(self) -> None:
        register(Tags.security)(check_settings)
        register(Tags.security)(check_corsfast_settings)
        register(Tags.security, deploy=True)(check_deploy_settings)
