"""Sign-up, login, MFA and login protection on top of django-allauth (see docs/auth.md)."""
