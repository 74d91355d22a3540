"""`corsfast.django`: django-cors-headers 4.9, compiled. Switch by renaming `corsheaders`.

    INSTALLED_APPS = [..., "corsfast.django", ...]
    MIDDLEWARE = ["corsfast.django.middleware.CorsMiddleware", ...]
    from corsfast.django.defaults import default_headers

The same modules (`middleware`, `signals`, `defaults`, `conf`, `checks`, `apps`), settings,
system checks and answers as django-cors-headers; the only differences are two security
fixes (origin regexes are full-matched; an Origin holding control characters is never
allowed nor reflected), listed in the README. The settings are compiled once, and again
whenever Django's `setting_changed` signal fires (`override_settings` sends it). corsfast's
additions: the middleware counts its decisions by reason (`corsfast.stats()`), logs refusals
on `corsfast.refusals`, and can judge a report-only policy (`CORSFAST_REPORT_ONLY`).
"""

__all__ = ()
