import uuid

from .base import *  # noqa: F403
from .base import CACHES, REST_FRAMEWORK, ROOT_HOSTS, env

DEBUG = False
SECRET_KEY = "test-only-secret-key"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# The real Redis and broker, but a key prefix and a queue of this test run's own, so tests never
# see a running instance's keys or have their tasks taken by its workers.
_RUN_ID = env("QS_TEST_RUN_ID", default=uuid.uuid4().hex[:10])
CACHES["default"]["KEY_PREFIX"] = f"qs-test-{_RUN_ID}"
CELERY_TASK_DEFAULT_QUEUE = f"qs-test-{_RUN_ID}"
# The test worker serves one queue: the runners' routes point at it too.
CELERY_TASK_ROUTES = {
    "monitoring.run_due": {"queue": CELERY_TASK_DEFAULT_QUEUE},
    "monitoring.webhooks_deliver": {"queue": CELERY_TASK_DEFAULT_QUEUE},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # High enough that ordinary tests never meet them; throttle tests set their own.
    "DEFAULT_THROTTLE_RATES": {"read": "10000/min", "write": "10000/min"},
}
# Tenants on the free plan (billing tests make their accounts) carry `api_requests_per_min`, and
# the per-tenant counters outlive each test's rolled-back transaction: ordinary tests must never
# meet that limit. tests/tenants/test_tenant_rate_limit.py turns it back on.
THROTTLE_TENANT_ENABLED = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ROOT_HOSTS = [*ROOT_HOSTS, "testserver"]
WHITENOISE_AUTOREFRESH = True

# Tests call outbox_dispatch() themselves. A dispatcher kicked on commit would run in the session's
# Celery worker while a transactional test's teardown TRUNCATEs every table, and the two deadlock.
OUTBOX_DISPATCH_ON_COMMIT = False

# --- Auth (config/settings/auth.py) ---------------------------------------------------------
from apps.accounts.auth.jwt_keys import jwt_hmac_key  # noqa: E402

HEADLESS_JWT_PRIVATE_KEY = HEADLESS_JWT_PRIVATE_KEY or jwt_hmac_key(SECRET_KEY)  # noqa: F405
# Apps over plain HTTP: tests that want HTTPS turn it on (tests/deploy/test_tls.py).
DEPLOY_TLS = "off"
# Tests make tenants by replaying the render unless they ask for spares themselves.
TENANT_SPARE_SCHEMAS = 0

# Add-on backups (a final one is taken whenever a test destroys an add-on): a directory of this
# run's own, not the checkout's .local/.
import tempfile as _tempfile  # noqa: E402

ADDONS_BACKUP_DIR = f"{_tempfile.gettempdir()}/qs-test-backups-{_RUN_ID}"
