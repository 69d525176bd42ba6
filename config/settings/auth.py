"""Sign-up, login, MFA, JWT and login protection (django-allauth). Imported by base.py.

Every name here lands in base.py's namespace (star import), so settings files that import base
see them. docs/auth.md explains the flows; the README's table lists the environment variables."""

import environ

env = environ.Env()

# --- Where people land ----------------------------------------------------------------------
LOGIN_REDIRECT_URL = "/accounts/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Accounts (allauth.account) -------------------------------------------------------------
ACCOUNT_ADAPTER = "apps.accounts.auth.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# An optional first name, used to name the personal workspace.
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.auth.forms.SignupExtraFields"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_DISPLAY = "apps.accounts.auth.adapters.user_display"
# Mandatory everywhere but local mode (config/settings/local.py makes it optional).
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Quayside] "
ACCOUNT_PREVENT_ENUMERATION = True
# A password change ends every session of the user, this one included: API clients cannot be
# handed new JWTs for a session that changes its key, so everyone signs in again.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True

# Brute-force protection: allauth's `login_failed` rate limit, keyed by the lower-cased email
# (apps/accounts/auth/lockout.py turns an exhausted limit into 429 + Retry-After and audits it).
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_WINDOW_S = env.int("LOGIN_LOCKOUT_WINDOW_S", default=15 * 60)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"10/m/ip,{LOGIN_LOCKOUT_ATTEMPTS}/{LOGIN_LOCKOUT_WINDOW_S}s/key",
}
# Proxies in front of the web process whose X-Forwarded-For entries are trusted for client IPs.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- MFA (allauth.mfa) ----------------------------------------------------------------------
MFA_ADAPTER = "apps.accounts.auth.mfa_adapter.MFAAdapter"  # secrets encrypted at rest
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Quayside"
# Accept the neighbouring 30 s step too: phone clocks drift.
MFA_TOTP_TOLERANCE = 1
# Staff must enrol an authenticator before the operator console (/admin/) lets them in.
MFA_REQUIRED_FOR_STAFF = env.bool("MFA_REQUIRED_FOR_STAFF", default=False)

# Encrypted values inside JSON columns, for `manage.py encryption_rotate` (which finds plain
# encrypted columns by their `_encrypted` suffix): {"app_label.model": {"column": [keys]}}.
FIELD_ENCRYPTION_JSON = {"mfa.authenticator": {"data": ["secret", "seed", "migrated_codes"]}}

# --- Social login (allauth.socialaccount) ---------------------------------------------------
SOCIALACCOUNT_ADAPTER = "apps.accounts.auth.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
# A Google login whose verified email matches an account logs into (and connects) that account.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        # Google is offered only when both halves of the OAuth client are configured.
        **(
            {"APP": {"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}}
            if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET
            else {}
        ),
    }
}

# --- Headless JSON API for API clients (allauth.headless), under /api/v1/auth/ -------------
HEADLESS_CLIENTS = ("app",)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"  # noqa: S105
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = 5 * 60
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = 24 * 3600
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
# Access tokens die with their session (logout, password change), at one query per request.
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
# JWT_PRIVATE_KEY (an RSA key in PEM; "\n" escapes allowed) signs with RS256, so other services
# can verify with the public key. Without it tokens are HS256 with a key derived from SECRET_KEY
# (local.py and test.py set it; allauth falls back to SECRET_KEY itself where nobody does).
JWT_PRIVATE_KEY = env("JWT_PRIVATE_KEY", default="").replace("\\n", "\n").strip()
HEADLESS_JWT_ALGORITHM = "RS256" if JWT_PRIVATE_KEY else "HS256"
HEADLESS_JWT_PRIVATE_KEY = JWT_PRIVATE_KEY
# The OpenAPI document of these endpoints, at /api/v1/auth/openapi.json (and .yaml); the HTML
# viewer is off because it loads ReDoc from a CDN. /api/schema/ links to it from GET
# /api/v1/auth/me, and base.py sets AUTH_API_EXTERNAL_DOCS as the schema's "externalDocs".
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_SPECIFICATION_TEMPLATE_NAME = None
AUTH_API_SPEC_URL = "/api/v1/auth/openapi.json"
AUTH_API_EXTERNAL_DOCS = {
    "description": "Sign-up, login, MFA and JWT tokens (django-allauth headless API)",
    "url": AUTH_API_SPEC_URL,
}

# --- `quay login`: OAuth 2.0 device authorization grant (allauth.idp.oidc, RFC 8628) ---------
# The CLI is the public client `quay-cli` (registered by accounts migration 0004). It asks
# /identity/o/api/device/code for a device code, the person approves the user code at
# /identity/o/device in a browser, and the CLI polls /identity/o/api/token. The access token it gets
# is a user credential of the REST API (apps/accounts/oauth_authentication.py) for clients granted
# the scope below. Tokens are stored hashed by allauth (its Token model).
CLI_OAUTH_CLIENT_ID = "quay-cli"
CLI_OAUTH_SCOPE = "api"
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = env.int("CLI_ACCESS_TOKEN_EXPIRES_IN", default=3600)
# The CLI refreshes its access token with the refresh token (rotated on each use) until it too
# expires: then `quay login` again.
IDP_OIDC_REFRESH_TOKEN_EXPIRES_IN = env.int("CLI_REFRESH_TOKEN_EXPIRES_IN", default=30 * 86400)
IDP_OIDC_DEVICE_CODE_EXPIRES_IN = 600
# Seconds between the CLI's polls (faster polls answer slow_down).
IDP_OIDC_DEVICE_CODE_INTERVAL = env.int("CLI_DEVICE_POLL_INTERVAL_S", default=5)
# Device codes asked for per address (apps/accounts/device_login.py; allauth's own defaults for
# the rest): a person's `quay login` asks once.
IDP_OIDC_RATE_LIMITS = {"device_code": env("CLI_DEVICE_CODES_RATE", default="10/m/ip")}
