"""TCP (the port accepts a connection) and TLS certificate expiry checks."""

from __future__ import annotations

import datetime as dt
import ssl
import time

from cryptography import x509

from apps.core.net import open_connection

from .base import CheckSpec, Outcome


async def check_tcp(spec: CheckSpec) -> Outcome:
    started = time.perf_counter()
    try:
        _reader, writer = await open_connection(spec.host, spec.port, timeout=spec.timeout_s)
    except (TimeoutError, OSError) as exc:
        return Outcome(ok=False, error=_describe(exc, spec))
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    writer.close()
    return Outcome(ok=True, response_ms=elapsed_ms)


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def check_tls(spec: CheckSpec) -> Outcome:
    """Down when the certificate expires within `tls_expiry_days` (or is invalid, when
    verify_tls is on); the days left are in the result's error text when down."""
    started = time.perf_counter()
    try:
        _reader, writer = await open_connection(
            spec.host,
            spec.port or 443,
            timeout=spec.timeout_s,
            ssl=_tls_context(spec.verify_tls),
            server_hostname=spec.host,
        )
    except ssl.SSLCertVerificationError as exc:
        return Outcome(ok=False, error=f"Certificate not valid: {exc.verify_message}.")
    except (TimeoutError, OSError) as exc:
        return Outcome(ok=False, error=_describe(exc, spec))
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    if not der:
        return Outcome(ok=False, response_ms=elapsed_ms, error="No certificate presented.")
    expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    days_left = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    extra = {"expires_at": expires.isoformat(), "days_left": round(days_left, 2)}
    if days_left < spec.tls_expiry_days:
        return Outcome(
            ok=False,
            response_ms=elapsed_ms,
            error=f"Certificate expires in {days_left:.1f} days ({expires:%Y-%m-%d}); "
            f"alert threshold {spec.tls_expiry_days} days.",
            extra=extra,
        )
    return Outcome(ok=True, response_ms=elapsed_ms, extra=extra)


def _describe(exc: Exception, spec: CheckSpec) -> str:
    if isinstance(exc, TimeoutError):
        return f"Timed out after {spec.timeout_s:g} s."
    return f"{type(exc).__name__}: {exc}"[:500]
