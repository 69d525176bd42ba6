"""Taking secrets out of log lines before they are stored or streamed.

Every env var value of the app (and the git URL's credentials) is replaced, in the forms a build
is likely to print it: raw, base64 (standard and URL-safe, with and without padding) and
URL-encoded (`quote` and `quote_plus`). Values spanning several lines are matched line by line.
Values shorter than settings.DEPLOY_REDACT_MIN_LENGTH are left alone: redacting "1" or "on"
would make logs unreadable and protect nothing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from django.conf import settings

MASK = "[REDACTED]"


def secret_forms(value: str) -> set[str]:
    forms = {value}
    raw = value.encode()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms.update({text, text.rstrip("=")})
    forms.update({quote(value, safe=""), quote(value), quote_plus(value)})
    return forms


class Redactor:
    def __init__(self, secrets: Iterable[str], *, min_length: int | None = None) -> None:
        if min_length is None:
            min_length = settings.DEPLOY_REDACT_MIN_LENGTH
        forms: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            pieces = [secret, *secret.splitlines()]
            for piece in pieces:
                piece = piece.strip("\r")
                if len(piece) >= min_length:
                    forms.update(f for f in secret_forms(piece) if len(f) >= min_length)
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in ordered)) if ordered else None

    def __call__(self, line: str) -> str:
        if self._pattern is None:
            return line
        return self._pattern.sub(MASK, line)
