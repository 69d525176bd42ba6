"""Platform config variables: the settings an operator may change while Quayside runs.

Each variable is declared here with its type, default and bounds; the database only holds the
operator's overrides (`ConfigVariable`). Services read a value with
`apps.core.platform_config.config_get(name)`; operators change it in the admin or through
`/api/v1/admin/config-variables`. A default names the Django setting it comes from, so the
environment still sets the starting value (and tests' `settings` overrides still apply).

Declaring one here is not enough: the code that used the setting must read `config_get()`.
Everything else (deploy paths, secrets, Stripe keys) stays an environment variable: a value a
process reads once at start, or one that must not be changed from a web page."""

from __future__ import annotations

import enum
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from .problems import InvalidInput

NAME_MAX_LENGTH = 64  # fits the audit log's target_id


class VarType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    ENUM = "enum"
    BOOL = "bool"


@dataclass(frozen=True)
class ConfigVar:
    name: str
    type: VarType
    description: str
    category: str
    # The default is the value of this Django setting, or `default_value` when there is none.
    default_setting: str = ""
    default_value: Any = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True  # numbers: whole numbers only
    choices: tuple[str, ...] = field(default_factory=tuple)
    max_length: int = 500  # strings

    @property
    def default(self) -> Any:
        if self.default_setting:
            return getattr(settings, self.default_setting)
        return self.default_value

    def clean(self, value: Any) -> Any:
        """`value` as stored, or InvalidInput (field `value`) saying what is wrong."""
        if value is None:
            raise InvalidInput(f"{self.name} needs a value.", field="value", code="null")
        checker = _CLEANERS[self.type]
        return checker(self, value)

    def parse(self, text: str) -> Any:
        """A value typed into a form, then cleaned."""
        text = text.strip()
        if self.type == VarType.NUMBER:
            try:
                value: Any = float(text) if not self.integer else _int_text(text)
            except ValueError:
                raise InvalidInput(
                    f"{text!r} is not a {'whole ' if self.integer else ''}number.",
                    field="value",
                ) from None
        elif self.type == VarType.BOOL:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise InvalidInput(f"{text!r} is not true or false.", field="value")
            value = lowered in ("true", "1", "yes", "on")
        else:
            value = text
        return self.clean(value)

    def describe_bounds(self) -> str:
        if self.type == VarType.NUMBER:
            low = "" if self.minimum is None else _fmt(self.minimum)
            high = "" if self.maximum is None else _fmt(self.maximum)
            kind = "whole number" if self.integer else "number"
            if low and high:
                return f"{kind}, {low} to {high}"
            if low:
                return f"{kind}, at least {low}"
            if high:
                return f"{kind}, at most {high}"
            return kind
        if self.type == VarType.ENUM:
            return "one of " + ", ".join(self.choices)
        if self.type == VarType.STRING:
            return f"text, at most {self.max_length} characters"
        return "true or false"


def _int_text(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def _fmt(number: float) -> str:
    if isinstance(number, int):
        return str(number)
    return str(int(number)) if number.is_integer() else str(number)


def _clean_number(var: ConfigVar, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{var.name} must be a number.", field="value", code="invalid")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{var.name} must be a number.", field="value", code="invalid")
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        # JSON integers are unbounded; one beyond any float (10**400) is out of every range.
        raise InvalidInput(
            f"{var.name} must be a {var.describe_bounds()}.", field="value", code="out_of_range"
        )
    if var.integer:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"{var.name} must be a whole number.", field="value")
        value = int(value)
    if (var.minimum is not None and value < var.minimum) or (
        var.maximum is not None and value > var.maximum
    ):
        raise InvalidInput(
            f"{var.name} must be a {var.describe_bounds()}; got {_fmt(value)}.",
            field="value",
            code="out_of_range",
        )
    return value


def _clean_string(var: ConfigVar, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{var.name} must be a string.", field="value")
    if "\x00" in value:  # PostgreSQL (jsonb) cannot store it
        raise InvalidInput(
            "Null characters are not allowed.", field="value", code="null_characters_not_allowed"
        )
    if len(value) > var.max_length:
        raise InvalidInput(
            f"{var.name} is at most {var.max_length} characters.",
            field="value",
            code="max_length",
        )
    return value


def _clean_enum(var: ConfigVar, value: Any) -> str:
    if not isinstance(value, str) or value not in var.choices:
        raise InvalidInput(
            f"{var.name} must be one of {', '.join(var.choices)}; got {value!r}.",
            field="value",
            code="invalid_choice",
        )
    return value


def _clean_bool(var: ConfigVar, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{var.name} must be true or false.", field="value")
    return value


_CLEANERS = {
    VarType.NUMBER: _clean_number,
    VarType.STRING: _clean_string,
    VarType.ENUM: _clean_enum,
    VarType.BOOL: _clean_bool,
}

REGISTRY: dict[str, ConfigVar] = {}


def register(var: ConfigVar) -> ConfigVar:
    if len(var.name) > NAME_MAX_LENGTH:
        raise ValueError(f"config variable names are at most {NAME_MAX_LENGTH} characters")
    if var.type == VarType.ENUM and not var.choices:
        raise ValueError(f"enum variable {var.name} needs choices")
    REGISTRY[var.name] = var
    return var


def unregister(name: str) -> None:
    """For tests that declare a variable of their own."""
    REGISTRY.pop(name, None)


# --- The variables --------------------------------------------------------------------------
# Who reads each one is named in its description; docs/operations.md lists them too.

register(
    ConfigVar(
        name="monitoring.min_interval_s",
        type=VarType.NUMBER,
        category="Monitoring",
        default_setting="MONITORING_MIN_INTERVAL_S",
        minimum=1,
        maximum=3600,
        description="Shortest check interval (seconds) a monitor may be created or changed "
        "with. Monitors that already check more often keep their interval.",
    )
)
register(
    ConfigVar(
        name="monitoring.results_retention_days",
        type=VarType.NUMBER,
        category="Monitoring",
        default_setting="MONITORING_RESULTS_RETENTION_DAYS",
        minimum=1,
        maximum=365,
        description="Days raw check results are kept (the hourly monitoring.purge task deletes "
        "older ones). Uptime comes from the hourly rollups, which are kept longer.",
    )
)
register(
    ConfigVar(
        name="monitoring.rollup_retention_days",
        type=VarType.NUMBER,
        category="Monitoring",
        default_setting="MONITORING_ROLLUP_RETENTION_DAYS",
        minimum=31,
        maximum=3650,
        description="Days hourly uptime rollups and alert logs are kept (at least 31: the "
        "30-day uptime window needs them).",
    )
)
register(
    ConfigVar(
        name="billing.dunning_grace_days",
        type=VarType.NUMBER,
        category="Billing",
        default_setting="BILLING_DUNNING_GRACE_DAYS",
        minimum=0,
        maximum=90,
        description="Days a tenant may stay past due after a failed payment before it is "
        "suspended (read when a payment fails and by the dunning task).",
    )
)
register(
    ConfigVar(
        name="billing.seller_name",
        type=VarType.STRING,
        category="Billing",
        default_setting="BILLING_SELLER_NAME",
        max_length=100,
        description="The seller's name printed at the top of invoice PDFs.",
    )
)
register(
    ConfigVar(
        name="deploy.log_retention_days",
        type=VarType.NUMBER,
        category="Deploy",
        default_setting="DEPLOY_LOG_RETENTION_DAYS",
        minimum=1,
        maximum=3650,
        description="Days deployment logs are kept (the deploy.logs_purge task deletes older "
        "ones).",
    )
)
register(
    ConfigVar(
        name="tenants.operator_role",
        type=VarType.ENUM,
        category="Tenants",
        default_setting="OPERATOR_TENANT_ROLE",
        choices=("viewer", "member", "admin"),
        description="The role an operator (is_staff) has inside a tenant they are not a member "
        "of. Every such entry is audited (tenant.operator_entered).",
    )
)
