"""Settings shared by every environment. Values come from environment variables (12-factor);
each one is listed in the README's configuration table."""

import datetime
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
# Hosts that serve the public schema (operator admin, sign-up, API with X-Tenant-ID).
ROOT_HOSTS = env.list("ROOT_HOSTS", default=[BASE_DOMAIN, "127.0.0.1", "[::1]"])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

SHARED_APPS = [
    # unfold first: its admin templates must win over django_tenants' unstyled ones.
    "unfold",
    "unfold.contrib.filters",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.mfa",
    "allauth.headless",
    # OAuth 2.0 device authorization grant (RFC 8628) for `quay login` (config/settings/auth.py).
    "allauth.idp.oidc",
    "django_prometheus",
    "apps.core",
    "apps.accounts",
    "apps.tenants",
    "apps.billing",
    # The monitors' check schedule index: public schema, so an app of its own.
    "apps.monitoring.schedule",
    # The outgoing webhooks' due index: public schema too.
    "apps.webhooks.due",
    # No models: the operations registry and MCP (docs/agents.md), and export/import of a
    # tenant's configuration (the top layer, ARCHITECTURE §3a).
    "apps.operations",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "apps.deploy",
    "apps.monitoring",
    "apps.webhooks",
    "apps.addons",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# The schema that new tenant schemas are rendered from (see apps/tenants/schema_template.py).
TENANT_TEMPLATE_SCHEMA = "qs_tenant_template"
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MIGRATION_PROCESSES", default=2)
# Path to a pg_dump binary; empty means "find one whose major version can dump the server".
PG_DUMP = env("PG_DUMP", default="")

MIDDLEWARE = [
    # First and last: the pair times the whole request and counts every response, including
    # the ones tenant routing or other middleware answer themselves.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIDMiddleware",
    "apps.tenants.middleware.TenantRoutingMiddleware",
    # A NUL (%00) in the path or query string is a 400 before any view can hand it to the
    # database (PostgreSQL text cannot hold it).
    "apps.core.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.ApiHeadersMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores ----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/quayside",
        engine="django_tenants.postgresql_backend",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="qs"),
        "TIMEOUT": 300,
    }
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"

# --- I18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The first one's challenge is the WWW-Authenticate of a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "apps.accounts.oauth_authentication.OAuthAccessTokenAuthentication",
        "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication",
        "apps.core.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttling.ReadRateThrottle",
        "apps.core.api.throttling.WriteRateThrottle",
        # The tenant's plan limit `api_requests_per_min`, shared by all its callers.
        "apps.tenants.api.throttling.TenantRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "read": env("THROTTLE_READ_RATE", default="100/min"),
        "write": env("THROTTLE_WRITE_RATE", default="20/min"),
    },
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.AutoSchema",
    # OPTIONS: name, methods, media types (DRF's default needs a serializer_class; see the module).
    "DEFAULT_METADATA_CLASS": "apps.core.api.metadata.ApiMetadata",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# TenantRateThrottle (the plans' `api_requests_per_min`); off only where no tenant should ever
# be rate-limited by its plan (the test settings: the free plan carries a limit).
THROTTLE_TENANT_ENABLED = env.bool("THROTTLE_TENANT_ENABLED", default=True)
# ISO 8601 has four-digit years, but glibc's %Y leaves years before 1000 unpadded ("1-01-01").
# %4Y pads them where the C library supports it (glibc does); elsewhere the format keeps %Y.
if datetime.datetime(1, 1, 1).strftime("%4Y") == "0001":
    REST_FRAMEWORK["DATETIME_FORMAT"] = "%4Y-%m-%dT%H:%M:%S.%fZ"
# Checked before any view's own permissions on every API request (apps/core/api/views.py).
TENANT_ACCESS_PERMISSIONS = [
    "apps.tenants.permissions.TenantMember",
    "apps.tenants.permissions.TenantRole",
    # Agent keys: an API key with `allowed_operations` may call those operations' endpoints only.
    "apps.operations.permissions.OperationAllowList",
]
# Operations registry (docs/agents.md): how long a confirmation token of a high or critical
# operation is valid (at most 300 s), and the Origins a browser may call /mcp from (besides the
# root and tenant hosts themselves).
OPERATIONS_CONFIRMATION_TTL_S = env.int("OPERATIONS_CONFIRMATION_TTL_S", default=300)
MCP_ALLOWED_ORIGINS = env.list("MCP_ALLOWED_ORIGINS", default=[])
IDEMPOTENCY_KEY_TTL_S = env.int("IDEMPOTENCY_KEY_TTL_S", default=24 * 3600)

SPECTACULAR_SETTINGS = {
    "TITLE": "Quayside API",
    "DESCRIPTION": (
        "Multi-tenant control plane. The tenant comes from the host (<slug>.BASE_DOMAIN) or the "
        "X-Tenant-ID header. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # OPTIONS on every path, typed problem answers, the headers every answer carries.
        "apps.core.api.schema_hooks.add_options_and_headers",
    ],
    # Enums that share a field name across apps get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "ApiKeyStatusEnum": "apps.accounts.models.ApiKeyStatus",
        "ApiKeyAuthorityEnum": "apps.accounts.models.ApiKeyAuthority",
        "MonitorKindEnum": "apps.monitoring.models.MonitorKind",
        "MonitorStatusEnum": "apps.monitoring.models.MonitorStatus",
        "IncidentStatusEnum": "apps.monitoring.models.IncidentStatus",
        "KeywordModeEnum": "apps.monitoring.models.KeywordMode",
        "JsonOperatorEnum": "apps.monitoring.models.JsonOperator",
        "HttpMethodEnum": "apps.monitoring.models.HttpMethod",
        "ChannelKindEnum": "apps.monitoring.models.ChannelKind",
        "AddonKindEnum": "apps.addons.models.AddonKind",
        "AddonStatusEnum": "apps.addons.models.AddonStatus",
        "BackupKindEnum": "apps.addons.backup_models.BackupKind",
        "BackupStatusEnum": "apps.addons.backup_models.BackupStatus",  # restores share it
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# acks_late tasks must not be redelivered while they still run: keep this above the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}
WORKER_HEARTBEAT_INTERVAL_S = 15
WORKER_HEARTBEAT_MAX_AGE_S = 60

# --- Admin ----------------------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": "Quayside",
    "SITE_HEADER": "Quayside operator console",
    "SITE_SYMBOL": "sailing",
    "DASHBOARD_CALLBACK": "config.admin_dashboard.dashboard_callback",
    "SHOW_HISTORY": True,
}
# The tenant console (/console/ on tenant hosts): the same look, its own front page.
UNFOLD_CONSOLE = {
    **UNFOLD,
    "SITE_HEADER": "Tenant console",
    "DASHBOARD_CALLBACK": "apps.tenants.console.dashboard_callback",
    "SHOW_HISTORY": False,
}

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIDFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per health probe or Caddy admin call is noise.
        "httpx": {"level": "WARNING"},
        # Requests that end in 4xx/5xx are logged by our own handlers with the request id.
        "django.request": {"level": "ERROR"},
    },
}

# --- Security defaults (tightened further in production.py) --------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Concerns with settings files of their own ----------------------------------------------
from .addons import *  # noqa: E402, F403
from .addons_backups import *  # noqa: E402, F403
from .auth import *  # noqa: E402, F403
from .billing import *  # noqa: E402, F403
from .deploy import *  # noqa: E402, F403
from .monitoring import *  # noqa: E402, F403
from .operations import *  # noqa: E402, F403
from .tenancy import *  # noqa: E402, F403
from .webhooks import *  # noqa: E402, F403

# --- Outbox (apps/core/outbox.py) ------------------------------------------------------------
# Who reacts to domain events, in this order (dotted paths to `consume(events)`, or
# (name, path) pairs: a consumer that moved keeps the name stored in OutboxEvent.errors).
OUTBOX_CONSUMERS: list[str | tuple[str, str]] = [
    *DEPLOY_OUTBOX_CONSUMERS,  # noqa: F405
    *MONITORING_OUTBOX_CONSUMERS,  # noqa: F405
    *WEBHOOKS_OUTBOX_CONSUMERS,  # noqa: F405
]
OUTBOX_DISPATCH_ON_COMMIT = True
OUTBOX_DISPATCH_BATCH = 500
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
# The operator dashboard's daily aggregates (core.DailyMetric): how long they are kept.
DAILY_METRICS_RETENTION_DAYS = env.int("DAILY_METRICS_RETENTION_DAYS", default=400)
CORE_BEAT_SCHEDULE = {
    "core.outbox_dispatch": {"task": "core.outbox_dispatch", "schedule": 10.0},
    "core.outbox_purge": {"task": "core.outbox_purge", "schedule": 3600.0},
    # Yesterday's and today's daily aggregates for the operator dashboard's charts (upserted,
    # so hourly keeps today's point fresh), and the 400-day purge.
    "core.collect_daily_metrics": {"task": "core.collect_daily_metrics", "schedule": 3600.0},
}

CELERY_TASK_ROUTES = {
    "monitoring.run_due": {"queue": MONITORING_QUEUE},  # noqa: F405
    "monitoring.webhooks_deliver": {"queue": MONITORING_QUEUE},  # noqa: F405
}

CELERY_BEAT_SCHEDULE = {
    **CORE_BEAT_SCHEDULE,
    **TENANT_BEAT_SCHEDULE,  # noqa: F405
    **DEPLOY_BEAT_SCHEDULE,  # noqa: F405
    **BILLING_BEAT_SCHEDULE,  # noqa: F405
    **MONITORING_BEAT_SCHEDULE,  # noqa: F405
    **WEBHOOKS_BEAT_SCHEDULE,  # noqa: F405
    **OPERATIONS_BEAT_SCHEDULE,  # noqa: F405
    **ADDONS_BEAT_SCHEDULE,  # noqa: F405
    **ADDONS_BACKUPS_BEAT_SCHEDULE,  # noqa: F405
}

# The auth API (allauth headless) documents itself; the project schema links to it.
SPECTACULAR_SETTINGS["EXTERNAL_DOCS"] = AUTH_API_EXTERNAL_DOCS  # noqa: F405
