"""Celery tasks of the tenants app. Each takes ids, re-reads state and may run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from . import selectors, services

logger = logging.getLogger(__name__)


@shared_task(
    name="tenants.invitation_mail_send",
    autoretry_for=(OSError,),  # smtplib.SMTPException is an OSError
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def invitation_mail_send(invitation_id: str) -> bool:
    """Mail an invitation's current link (enqueued on commit by invitation_create/_resend)."""
    return services.invitation_mail_send(invitation_id=invitation_id)


@shared_task(name="tenants.purge_due")
def purge_due() -> list[str]:
    """Beat task (TENANT_BEAT_SCHEDULE): purge deleted tenants whose grace period is over.

    At most TENANT_PURGE_BATCH per run, each in its own transaction; a tenant another worker is
    purging is skipped, one already purged is not found again. Returns the purged ids."""
    due = selectors.tenants_due_for_purge().values_list("pk", flat=True)
    purged = [
        str(tenant_id)
        for tenant_id in list(due[: settings.TENANT_PURGE_BATCH])
        if services.tenant_purge(tenant_id=tenant_id)
    ]
    if purged:
        logger.info("Purged %d deleted tenant(s)", len(purged))
    return purged


@shared_task(name="tenants.spares_fill")
def spares_fill() -> int:
    """Keep TENANT_SPARE_SCHEMAS tenant schemas ready (after each use and from beat)."""
    from .provisioning import spares_fill as fill

    return fill(target=settings.TENANT_SPARE_SCHEMAS)
