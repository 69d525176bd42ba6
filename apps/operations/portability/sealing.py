"""The secrets of an export (env var values, credentialed URLs), sealed to a passphrase.

scrypt (n=2**15, r=8, p=1) stretches the passphrase with a salt made for each document into an
AES-256-GCM key; the nonce is random too, and the document's format name is the associated
data. A wrong passphrase, or a changed byte, fails GCM's tag: a 400 naming `passphrase`, never
a half-read secret."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from apps.core.problems import InvalidInput

CIPHER = "AES-256-GCM"
KDF = "scrypt"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MIN_PASSPHRASE = 12
AAD = b"quayside.config/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The sealed secrets are damaged.", field=f"secrets.{field}") from exc


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        passphrase.encode("utf-8")
    )


def passphrase_check(passphrase: str | None) -> str:
    if not passphrase or len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            f"A passphrase of at least {MIN_PASSPHRASE} characters seals the values.",
            field="passphrase",
        )
    return passphrase


def seal(payload: dict[str, Any], passphrase: str) -> dict[str, Any]:
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    sealed = AESGCM(_key(passphrase_check(passphrase), salt, SCRYPT)).encrypt(nonce, plain, AAD)
    return {
        "cipher": CIPHER,
        "ciphertext": _b64(sealed),
        "kdf": KDF,
        "kdf_params": dict(SCRYPT),
        "nonce": _b64(nonce),
        "salt": _b64(salt),
    }


def unseal(sealed: Any, passphrase: str | None) -> dict[str, Any]:
    if not isinstance(sealed, dict) or sealed.get("cipher") != CIPHER or sealed.get("kdf") != KDF:
        raise InvalidInput(f"secrets must be sealed with {KDF} and {CIPHER}.", field="secrets")
    if not passphrase:
        raise InvalidInput("The document has sealed values: give its passphrase.",
                           field="passphrase")  # fmt: skip
    params = sealed.get("kdf_params") or {}
    if not isinstance(params, dict) or {k: params.get(k) for k in SCRYPT} != SCRYPT:
        raise InvalidInput("Unknown scrypt parameters.", field="secrets.kdf_params")
    key = _key(passphrase, _unb64(sealed.get("salt"), "salt"), SCRYPT)
    try:
        plain = AESGCM(key).decrypt(
            _unb64(sealed.get("nonce"), "nonce"), _unb64(sealed.get("ciphertext"), "ciphertext"),
            AAD,
        )  # fmt: skip
    except (InvalidTag, ValueError) as exc:
        raise InvalidInput(
            "The passphrase does not open this document's secrets (or they were changed).",
            field="passphrase",
        ) from exc
    payload = json.loads(plain)
    if not isinstance(payload, dict):
        raise InvalidInput("The sealed secrets are damaged.", field="secrets")
    return payload
