"""Tenants, members, invitations, API keys. Imported by base.py."""

import environ

env = environ.Env()

# Operators (is_staff) acting inside a tenant they are not a member of get this role.
OPERATOR_TENANT_ROLE = "admin"

# The root host's address, for links in mails (`<ROOT_URL>/invitations/<token>`).
ROOT_URL = env("ROOT_URL", default=f"https://{env('BASE_DOMAIN', default='localhost')}").rstrip("/")

# A deleted tenant answers 404 at once; its schema is dropped this many days later.
TENANT_PURGE_GRACE_DAYS = env.int("TENANT_PURGE_GRACE_DAYS", default=30)
# Tenants purged per run of the `tenants.purge_due` beat task (the rest wait for the next run).
TENANT_PURGE_BATCH = 20

# Limits of a tenant with no plan entitlement and no operator override for them
# (see apps.tenants.selectors.tenant_limit). `users` counts members plus pending invitations.
TENANT_DEFAULT_USER_LIMIT = env.int("TENANT_DEFAULT_USER_LIMIT", default=10)
TENANT_DEFAULT_LIMITS = {"users": TENANT_DEFAULT_USER_LIMIT}

# How long an invitation link stays valid.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

# Periodic tasks of the tenants app; base.py merges them into CELERY_BEAT_SCHEDULE.
TENANT_BEAT_SCHEDULE = {
    "tenants.purge_due": {"task": "tenants.purge_due", "schedule": 3600.0},
    "tenants.spares_fill": {"task": "tenants.spares_fill", "schedule": 60.0},
}

# Tenant schemas made ahead of time (taking one is a rename, under 1 ms, instead of replaying
# the render, about 80 ms); a worker refills the pool after each use and every minute. 0: none.
TENANT_SPARE_SCHEMAS = env.int("TENANT_SPARE_SCHEMAS", default=10)
