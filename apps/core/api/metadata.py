"""What `OPTIONS` answers on every API path.

DRF's `SimpleMetadata` describes the fields of `PUT`/`POST` by calling `view.get_serializer()`,
which fails (a 500) on views written in the Input/Output serializer style, which have no
`serializer_class`. The OpenAPI document at /api/schema/ already describes every request body, so
`OPTIONS` answers what stays true for any view: its name, description, the methods it allows (in
the `Allow` header and the body) and the media types it reads and writes, plus where the schema
is. Authentication, tenancy and role checks run first, as for any method (see
`ApiOptionsMixin`), so `OPTIONS` answers 401/403/404 exactly where `GET` would."""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import BaseMetadata

SCHEMA_URL = "/api/schema/"


class ApiMetadata(BaseMetadata):
    def determine_metadata(self, request, view) -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "allow": list(view.allowed_methods),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": SCHEMA_URL,
        }
