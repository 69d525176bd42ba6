"""allauth.mfa's adapter (settings.MFA_ADAPTER): TOTP secrets and recovery-code seeds are kept
encrypted like every other secret (apps.core.crypto, FIELD_ENCRYPTION_KEYS), not in the clear
in `mfa_authenticator.data` as allauth's default adapter leaves them."""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter

from apps.core import crypto


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        # A base32 secret or hex seed stored before encryption (migration 0003 encrypts them)
        # can never look like a token: it opens as it is.
        if not crypto.is_token(encrypted_text):
            return encrypted_text
        return crypto.decrypt(encrypted_text)
