"""One helper for the services' partial updates (`*_update(..., **changes)`): set what changed,
say what it was. Each service still validates its input and decides how to save and what to
audit; this is only the "compare, set, list" step they all repeated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from .problems import InvalidInput


def model_update(
    instance: models.Model,
    fields: Iterable[str],
    data: Mapping[str, Any],
    *,
    refuse_others: bool = False,
    save: bool = False,
) -> list[str]:
    """Sets every field of `fields` that `data` holds and whose value differs from the
    instance's; returns the names changed, in `data`'s order.

    `refuse_others`: a key of `data` outside `fields` is a 400 naming it ("… cannot be changed"),
    checked before anything is set. `save`: saves the changed fields (and `updated_at`, when the
    model has one) when anything changed."""
    allowed = set(fields)
    if refuse_others:
        refuse_unknown(data, allowed)
    changed = [
        key for key, value in data.items() if key in allowed and getattr(instance, key) != value
    ]
    for key in changed:
        setattr(instance, key, data[key])
    if save and changed:
        names = {f.name for f in instance._meta.concrete_fields}
        stamp = ["updated_at"] if "updated_at" in names else []
        instance.save(update_fields=[*changed, *stamp])
    return changed


def refuse_unknown(data: Mapping[str, Any], fields: Iterable[str]) -> None:
    """A 400 naming the first key of `data` (alphabetically) that is not one of `fields`."""
    allowed = set(fields)
    unknown = sorted(key for key in data if key not in allowed)
    if unknown:
        raise InvalidInput(f"{unknown[0]} cannot be changed.", field=unknown[0])
