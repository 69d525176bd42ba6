"""Tenants, members, invitations, API keys. Imported by base.py."""

import environ

env = environ.Env()

# Operators (is_staff) acting inside a tenant they are not a member of get this role.
OPERATOR_TENANT_ROLE = "admin"
