"""The HS256 key of the headless API's JWTs when no RSA key (JWT_PRIVATE_KEY) is configured.

Derived from SECRET_KEY, so every web worker and Celery process of an installation agrees on it
without sharing a file, and a leaked token key does not reveal SECRET_KEY itself."""

import hashlib
import hmac


def jwt_hmac_key(secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"quayside.headless-jwt", hashlib.sha256).hexdigest()
