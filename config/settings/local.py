from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-only-insecure-key-change-me")
WHITENOISE_AUTOREFRESH = DEBUG

# --- Auth (config/settings/auth.py) ---------------------------------------------------------
from apps.accounts.auth.jwt_keys import jwt_hmac_key  # noqa: E402

# Mails go to the console and to one .eml file each under .local/mail/.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="apps.core.mail.ConsoleAndFileEmailBackend")
# Local mode lets people in before they confirm their email (production and tests require it).
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
HEADLESS_JWT_PRIVATE_KEY = HEADLESS_JWT_PRIVATE_KEY or jwt_hmac_key(SECRET_KEY)  # noqa: F405
# Links in mails point at `make run`'s server.
ROOT_URL = env("ROOT_URL", default=f"http://{BASE_DOMAIN}:{env('PORT', default='8000')}")  # noqa: F405

# Local mode: apps are served on *.localhost, so monitors (the one each deployed app gets, and
# yours) may reach loopback addresses. Production keeps the SSRF guard's default (refuse).
OUTBOUND_ALLOWED_NETWORKS = env.list(
    "OUTBOUND_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]
)
# A git server on this machine (e.g. http://localhost:3000/…) may be used in local mode.
DEPLOY_GIT_ALLOWED_SCHEMES = env.list(
    "DEPLOY_GIT_ALLOWED_SCHEMES", default=["https", "ssh", "http", "git"]
)
# Apps over HTTPS too, with certificates from Caddy's local CA (README: trusting it), which
# the monitors of apps trust as well.
DEPLOY_TLS = env("DEPLOY_TLS", default="internal")
_LOCAL_CA = Path(DEPLOY_RUNTIME_DIR).absolute().resolve() / DEPLOY_TLS_LOCAL_CA_ROOT  # noqa: F405
OUTBOUND_TRUSTED_CA_FILES = env.list(
    "OUTBOUND_TRUSTED_CA_FILES", default=[str(_LOCAL_CA)] if DEPLOY_TLS == "internal" else []
)
