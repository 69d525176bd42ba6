from django.core.exceptions import ImproperlyConfigured

from apps.accounts.auth.jwt_keys import jwt_hmac_key

from .base import *  # noqa: F403
from .base import HEADLESS_JWT_PRIVATE_KEY, SECRET_KEY, env

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")

DEBUG = False
# The local runtime's processes (the worker that deploys, `deploy_runtime render`) refuse to
# start when the app sandbox cannot run here, unless DEPLOY_SANDBOX=off says to run apps
# unsandboxed (then they warn on every start): apps/deploy/checks.py.
DEPLOY_SANDBOX_REQUIRED = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Health probes and the Prometheus scraper come over plain HTTP from inside the network.
# So does Caddy asking whether a host may have a certificate (it follows no redirect).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^internal/tls/ask$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Quayside <noreply@localhost>")

# JWTs: RS256 with JWT_PRIVATE_KEY when given, else HS256 with a key derived from SECRET_KEY.
HEADLESS_JWT_PRIVATE_KEY = HEADLESS_JWT_PRIVATE_KEY or jwt_hmac_key(SECRET_KEY)
