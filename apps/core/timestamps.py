"""One rendering of a datetime for everything that leaves Quayside as JSON (API answers, event
payloads): DRF's, i.e. ISO 8601 in UTC with `Z` (API.md)."""

from __future__ import annotations

import datetime as dt

from rest_framework.fields import DateTimeField

_FIELD = DateTimeField()


def api_time(value: dt.datetime | None) -> str | None:
    return None if value is None else _FIELD.to_representation(value)
