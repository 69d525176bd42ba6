"""Optimistic locking over HTTP (apps/core/versioning.py has the database side).

A viewset of versioned objects mixes in `VersionedViewMixin`:
- its detail reads and writes (`retrieve`, `partial_update`, `update`) answer an `ETag` header,
  `"<version>"`, beside the body's `version`;
- `expected_version()` is what the caller's `If-Match` header or `version` body field names
  (None when neither is sent: the write proceeds), for PATCH, PUT and DELETE;
- the OpenAPI document declares `If-Match` on those writes and `ETag` on those answers
  (apps/core/api/schema.py asks `versioned_parameters`)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.core.problems import InvalidInput
from apps.core.versioning import etag, parse_etag

ETAG_ACTIONS = ("retrieve", "partial_update", "update")
WRITE_METHODS = ("PATCH", "PUT", "DELETE")

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The version you read, as its ETag (`"4"`); a newer version on the server is '
    "409 `version-conflict` and nothing is written. The body's `version` field does the same. "
    "Without either the write proceeds.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='The object\'s version, quoted (`"4"`): send it back as `If-Match`.',
)


def versioned_parameters(view: Any, method: str) -> list[OpenApiParameter]:
    """The locking headers an operation of `view` documents."""
    if not getattr(view, "versioned", False):
        return []
    action = getattr(view, "action", None)
    parameters = []
    if method in WRITE_METHODS and action in ("partial_update", "update", "destroy"):
        parameters.append(IF_MATCH)
    if action in ETAG_ACTIONS:
        parameters.append(ETAG)
    return parameters


def body_version(data: Any) -> int | None:
    """The `version` field of a body, when it has one."""
    if not hasattr(data, "get"):
        return None
    value = data.get("version")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,18}", str(value)):
        raise InvalidInput("version is the integer of a read (its version field).", field="version")
    return int(value)


def without_version(data: Any) -> Any:
    """`data` less its `version` key (input serializers that refuse unknown keys)."""
    if isinstance(data, dict) and "version" in data:
        return {k: v for k, v in data.items() if k != "version"}
    return data


class VersionedViewMixin:
    """For viewsets of objects with a `version` (see the module docstring)."""

    versioned = True

    def expected_version(self) -> int | None:
        request = self.request  # type: ignore[attr-defined]
        header = parse_etag(request.headers.get("If-Match", ""))
        body = body_version(request.data) if request.method in WRITE_METHODS else None
        if header is not None and body is not None and header != body:
            raise InvalidInput(
                f"If-Match names version {header} and the body version {body}: send one.",
                field="version",
            )
        return header if header is not None else body

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        data = getattr(response, "data", None)
        if (
            getattr(self, "action", None) in ETAG_ACTIONS
            and response.status_code == 200
            and isinstance(data, dict)
            and isinstance(data.get("version"), int)
        ):
            response["ETag"] = etag(data["version"])
        return response


def version_field() -> serializers.IntegerField:
    """The `version` of an output serializer."""
    return serializers.IntegerField(
        read_only=True,
        help_text="Moved by every edit; send it back as `If-Match` (or `version`) on PATCH, "
        "PUT and DELETE to refuse a write over someone else's change (409 version-conflict).",
    )
