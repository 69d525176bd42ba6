"""Every non-GET endpoint of the API is an operation (catalogue.py) or listed here with the
reason it is not; tests/operations/test_registry.py holds the API to it."""

from __future__ import annotations

from .endpoints import known_endpoints
from .registry import all_operations

_PEOPLE = (
    "acts for a signed-in person's own account (API keys are refused by the view), not inside "
    "a tenant: no operation for scripts and agents"
)

# (url name, METHOD) → why it is no operation
EXCLUSIONS: dict[tuple[str, str], str] = {
    ("tenant-list", "POST"): "creates a tenant for the signed-in person; " + _PEOPLE,
    ("tenant-detail", "PATCH"): "the tenant's own settings, owner only; " + _PEOPLE,
    ("tenant-detail", "DELETE"): "deletes the tenant, owner only; " + _PEOPLE,
    ("tenant-transfer-ownership", "POST"): "hands the tenant to another person; " + _PEOPLE,
    ("invitation-accept", "POST"): "the invited person joins; " + _PEOPLE,
    ("member-leave", "POST"): "the signed-in person leaves the tenant; " + _PEOPLE,
    ("inbox-read", "POST"): "marks a message of the person's inbox read; " + _PEOPLE,
    ("inbox-read-all", "POST"): "marks the person's inbox read; " + _PEOPLE,
    ("operation-execute", "POST"): "the registry's own door: it runs the operation named",
}


def uncovered() -> list[tuple[str, str]]:
    """Non-GET endpoints of the OpenAPI document that are neither an operation nor excluded."""
    covered = {endpoint for op in all_operations() for endpoint in op.rest_endpoints()}
    return sorted(
        endpoint
        for endpoint in known_endpoints()
        if endpoint[1] != "GET" and endpoint not in covered and endpoint not in EXCLUSIONS
    )
