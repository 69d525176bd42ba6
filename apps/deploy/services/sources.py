"""Where an app's code comes from: git (the default) or a prebuilt container image.

An image source is a reference (runtime/images/reference.py), checked strictly when saved, and
optional registry credentials, kept encrypted (apps.core.crypto) and never shown: responses say
`has_registry_credentials`. Only providers that run images take image sources; on `local` they
are refused with 400 (runtime.images.LOCAL_REFUSAL), here and again by the pipeline."""

from __future__ import annotations

import json
from typing import Any

from apps.core import crypto
from apps.core.net import BlockedTarget, Unresolved, resolve
from apps.core.problems import InvalidInput

from ..models import App, SourceKind
from ..runtime import get_provider
from ..runtime.images import LOCAL_REFUSAL, provider_runs_images
from ..runtime.images.reference import InvalidReference, parse
from ..runtime.images.registry import Credentials

USERNAME_MAX = 255
PASSWORD_MAX = 4096


def images_allowed() -> bool:
    """Whether the configured provider deploys image sources."""
    return provider_runs_images(get_provider())


def refuse_unless_images_allowed(field: str = "source_kind") -> None:
    if not images_allowed():
        raise InvalidInput(LOCAL_REFUSAL, field=field, code="provider")


def _image_ref(text: str) -> str:
    try:
        reference = parse(text or "")
    except InvalidReference as exc:
        raise InvalidInput(str(exc), field="image_ref") from exc
    host = reference.api_host
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    try:
        resolve(name.strip("[]"), int(port or 443))
    except Unresolved:
        pass  # resolved again (and guarded) when a deployment asks the registry
    except BlockedTarget as exc:
        raise InvalidInput(
            f"{exc} Images cannot be pulled from there.", field="image_ref", code="blocked"
        ) from exc
    return str(reference)


def _credentials(value: dict | None) -> str:
    """The encrypted column for `{"username", "password"}` (None: no credentials)."""
    if value is None:
        return ""
    username, password = value.get("username") or "", value.get("password") or ""
    for name, text, limit in (
        ("username", username, USERNAME_MAX),
        ("password", password, PASSWORD_MAX),
    ):
        if not text or len(text) > limit or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            raise InvalidInput(
                f"The registry {name} is required: 1 to {limit} characters, no control characters.",
                field=f"registry_credentials.{name}",
            )
    if ":" in username:
        raise InvalidInput(
            "A registry username cannot contain ':'.", field="registry_credentials.username"
        )
    return crypto.encrypt(json.dumps({"username": username, "password": password}))


def source_fields(*, changes: dict[str, Any], app: App | None = None) -> dict[str, Any]:
    """The App columns for the source-related `changes` (source_kind, image_ref,
    registry_credentials), checked against what the app has (None: a new app)."""
    fields: dict[str, Any] = {}
    current_kind = app.source_kind if app is not None else SourceKind.GIT
    kind = changes.get("source_kind", current_kind) or SourceKind.GIT
    if kind not in SourceKind.values:
        raise InvalidInput("Use git or image.", field="source_kind")
    if kind != current_kind or app is None:
        fields["source_kind"] = kind
    if kind == SourceKind.IMAGE:
        refuse_unless_images_allowed("source_kind")
        if "image_ref" in changes or app is None or not app.image_ref:
            fields["image_ref"] = _image_ref(changes.get("image_ref", ""))
        if "registry_credentials" in changes:
            fields["registry_credentials_encrypted"] = _credentials(changes["registry_credentials"])
    else:
        for name in ("image_ref", "registry_credentials"):
            if changes.get(name):
                raise InvalidInput(
                    f"{name} is for image sources: set source_kind to image.", field=name
                )
        if app is not None and (app.image_ref or app.registry_credentials_encrypted):
            fields.update(image_ref="", registry_credentials_encrypted="")
    return fields


def registry_credentials(app: App) -> Credentials | None:
    """The app's registry credentials, decrypted (for the resolver and pull Secrets only)."""
    if not app.registry_credentials_encrypted:
        return None
    data = json.loads(crypto.decrypt(app.registry_credentials_encrypted))
    return Credentials(username=data["username"], password=data["password"])
