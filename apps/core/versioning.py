"""Optimistic locking: the `version` of an object people edit (docs/api.md, "Optimistic locking").

A versioned model has an integer `version` column (1 when created). A service that edits or
deletes such an object calls, inside its transaction:

1. `version_lock(obj, expected=...)` first: locks the row (`SELECT … FOR UPDATE`), reloads
   `obj` from it (its version and every field), and refuses with `VersionConflict` (409
   `version-conflict`) when the caller named a version (`If-Match`, a `version` field, the
   console's hidden field) that is not the current one. `expected=None` is "no precondition":
   the write proceeds.
2. `version_bump(obj)` once it has changed something: `UPDATE … SET version = version + 1
   WHERE pk = … AND version = <locked version>`, with a row-count check, so a version is never
   handed out twice even if a writer skipped step 1.

Two writers who read version 3 both send `If-Match: "3"`: the first locks, changes, bumps to 4
and commits; the second waits on the lock, then sees 4 and gets the 409 with nothing written.
Only edits move the version: state the platform keeps by itself (an app's status, a monitor's
last check, an endpoint's failure streak) does not."""

from __future__ import annotations

import re

from django.db import models
from django.db.models import F

from .problems import ApplicationError, InvalidInput

# `"3"`, `W/"3"` (accepted: some clients send back what they saw as weak) or a bare 3.
_ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,18})"?\s*')


class VersionConflict(ApplicationError):
    status = 409
    slug = "version-conflict"


def version_conflict(instance: models.Model, *, expected: int, current: int | None) -> None:
    what = instance._meta.verbose_name
    if current is None:
        raise VersionConflict(f"This {what} no longer exists.")
    raise VersionConflict(
        f"This {what} was changed by someone else: you sent version {expected}, it is now at "
        f"version {current}. Read it again, then repeat your change.",
        extra={"current_version": current},
    )


def version_lock(instance: models.Model, *, expected: int | None, reload: bool = True) -> int:
    """Locks `instance`'s row for this transaction and returns its current version; a stale
    `expected` is a VersionConflict. With `reload` (the default) every field of `instance` is
    read again under the lock: the caller's copy was read before it, and a service that then
    saves the whole object would write back what another writer changed meanwhile (a
    heartbeat's `last_ping_at`, the other field of a blind edit). A caller whose `instance`
    already carries its own changes (an admin form's object) passes reload=False."""
    model = type(instance)
    current = (
        model._default_manager.select_for_update()
        .filter(pk=instance.pk)
        .values_list("version", flat=True)
        .first()
    )
    if current is None or (expected is not None and expected != current):
        version_conflict(instance, expected=expected or 0, current=current)
    if reload:
        instance.refresh_from_db()
    instance.version = current
    return current


def version_bump(instance: models.Model) -> int:
    """The conditional increment: the row must still be at `instance.version`."""
    model = type(instance)
    seen = instance.version
    rows = model._default_manager.filter(pk=instance.pk, version=seen).update(
        version=F("version") + 1
    )
    if rows != 1:
        current = model._default_manager.filter(pk=instance.pk).values_list("version", flat=True)
        version_conflict(instance, expected=seen, current=current.first())
    instance.version = seen + 1
    return instance.version


def etag(version: int) -> str:
    """The `ETag` of an object at `version`: a strong tag, the version in quotes (`"4"`)."""
    return f'"{version}"'


def parse_etag(value: str, *, field: str = "If-Match") -> int | None:
    """The version an `If-Match` value names; `*` (any version) and empty are None."""
    value = (value or "").strip()
    if value in ("", "*"):
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        raise InvalidInput(
            f'{field} takes one version as an ETag, such as "4" (from the ETag header or the '
            "version field of a read).",
            field=field,
        )
    return int(match.group(1))
