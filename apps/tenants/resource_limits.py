"""The sandbox's resource entitlements, named once: what one app may use where it runs.

These four limit names are shared by billing (plan fields), operators (tenant overrides), the
local runtime's cgroups and size-limited disks (apps/deploy/runtime/), and later the Kubernetes
provider (requests/limits, LimitRange) and add-ons. docs/billing.md ("Resource limits") is the
one page that explains them. Unlike the count limits (`apps`, `processes`, …) they are sizes, not
counts: nothing is "used up", each process or app gets that much; and where a tenant has none, the
operator's DEPLOY_SANDBOX_DEFAULT_* apply (apps.deploy.selectors.resource_limits), never
"unlimited"."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ResourceLimit:
    name: str
    label: str  # what the console calls it
    unit: str  # how a value is shown: "MB", "millicores", "processes"
    per: str  # "process", "sandbox", "app" or "add-on": what one value applies to
    minimum: int
    maximum: int
    setting: str  # the operator's default, where the tenant has no value

    def default(self) -> int | None:
        return getattr(settings, self.setting, None)

    def describe(self, value: int | None) -> str:
        """A value as people read it: "256 MB", "0.5 CPU", "128 processes"."""
        if value is None:
            return "default"
        if self.unit == "millicores":
            cores = value / 1000
            return f"{cores:g} CPU"
        if self.unit == "MB" and value >= 1024 and value % 1024 == 0:
            return f"{value // 1024} GB"
        return f"{value} {self.unit}"


# Bounds: below the minimum a process cannot start (a Python interpreter alone needs ~10 MB, a
# shell and a server a few pids); above the maximum the value is a typo (and cgroup files and
# tmpfs sizes must stay in range).
RESOURCE_LIMITS: dict[str, ResourceLimit] = {
    limit.name: limit
    for limit in (
        ResourceLimit(
            "memory_mb",
            "Memory per process",
            "MB",
            "process",
            32,
            1_048_576,
            "DEPLOY_SANDBOX_DEFAULT_MEMORY_MB",
        ),
        ResourceLimit(
            "cpu_millicores",
            "CPU per process",
            "millicores",
            "process",
            10,
            256_000,
            "DEPLOY_SANDBOX_DEFAULT_CPU_MILLICORES",
        ),
        ResourceLimit(
            "pids",
            "Processes per sandbox",
            "processes",
            "sandbox",
            16,
            4_194_304,
            "DEPLOY_SANDBOX_DEFAULT_PIDS",
        ),
        ResourceLimit(
            "disk_mb",
            "Disk per app",
            "MB",
            "app",
            64,
            16_777_216,
            "DEPLOY_SANDBOX_DEFAULT_DISK_MB",
        ),
        # Add-ons (apps/addons/, docs/addons.md): the size each add-on of the kind may reach
        # (PostgreSQL: pg_database_size, read-only above it; Redis: maxmemory), and how many
        # backups of each add-on are kept.
        ResourceLimit(
            "addon_postgres_mb",
            "PostgreSQL add-on size",
            "MB",
            "add-on",
            1,
            16_777_216,
            "ADDONS_DEFAULT_POSTGRES_MB",
        ),
        ResourceLimit(
            "addon_redis_mb",
            "Redis add-on memory",
            "MB",
            "add-on",
            1,
            1_048_576,
            "ADDONS_DEFAULT_REDIS_MB",
        ),
        ResourceLimit(
            "addon_backups_kept",
            "Backups kept per add-on",
            "backups",
            "add-on",
            0,
            10_000,
            "ADDONS_DEFAULT_BACKUPS_KEPT",
        ),
    )
}


def resource_limit_problem(name: str, value: int) -> str | None:
    """Why `value` cannot be the limit `name` (None when it can, or `name` is no resource)."""
    limit = RESOURCE_LIMITS.get(name)
    if limit is None or limit.minimum <= value <= limit.maximum:
        return None
    return (
        f"The limit '{name}' ({limit.label.lower()}, in {limit.unit}) must be between "
        f"{limit.minimum} and {limit.maximum}."
    )
