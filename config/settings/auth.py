"""Sign-up, login, MFA, JWT and login protection (django-allauth). Imported by base.py."""

import environ

env = environ.Env()
