# Included by _engine_c.pyx (one extension module):
# the django-cors-headers dialect (corsfast.django); twin: _engine_py/django.py.

_DJANGO_ALL = ()
