"""The django-cors-headers dialect (`corsfast.django`): the twin of `_engine_c_django.pxi`."""

__all__ = ()
