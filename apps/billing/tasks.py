"""Celery tasks of the billing app. Each takes ids, re-reads state and can run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from . import services, stripe_events
from .models import BillingAccount, StripeEvent
from .stripe_client import StripeError

logger = logging.getLogger(__name__)


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff from BILLING_WEBHOOK_RETRY_BASE_S, capped at an hour."""
    return min(3600.0, settings.BILLING_WEBHOOK_RETRY_BASE_S * 2 ** max(0, attempts - 1))


@shared_task(
    bind=True,
    name="billing.process_stripe_event",
    max_retries=None,
    acks_late=True,
    # Nobody waits for the result; without this the Redis backend subscribes to each task.
    ignore_result=True,
)
def process_stripe_event(self, event_pk: int, customer_id: str | None = None) -> str:
    try:
        return stripe_events.stripe_event_process(event_pk=event_pk, customer_id=customer_id)
    except Exception as exc:
        attempts = (
            StripeEvent.objects.filter(pk=event_pk).values_list("attempts", flat=True).first() or 0
        )
        if attempts >= settings.BILLING_WEBHOOK_MAX_ATTEMPTS:
            logger.error(
                "Stripe event %s failed %s times; replay it from the admin", event_pk, attempts
            )
            return "failed"
        if isinstance(exc, StripeError) and exc.permanent:
            logger.warning("Stripe event %s: permanent failure, retrying anyway", event_pk)
        raise self.retry(countdown=retry_delay_s(attempts), exc=exc) from exc


@shared_task(name="billing.credits_grant_due")
def credits_grant_due() -> int:
    return services.credits_grant_due()


@shared_task(name="billing.dunning_enforce")
def dunning_enforce() -> int:
    return services.dunning_enforce()


@shared_task(name="billing.housekeeping")
def housekeeping() -> dict[str, int]:
    return {
        "accounts_made": services.billing_accounts_backfill(),
        "local_subscriptions_ended": services.subscriptions_end_local(),
        "events_requeued": stripe_events.stripe_events_requeue_stuck(),
    }


@shared_task(name="billing.entitlements_refresh")
def entitlements_refresh(plan_id: str) -> int:
    return services.entitlements_refresh(plan_id=plan_id)


@shared_task(
    name="billing.notice_email",
    bind=True,
    max_retries=5,
    default_retry_delay=60,
    ignore_result=True,
)
def billing_notice_email(self, account_id: str, title: str, body: str) -> int:
    """A billing notice by email to the tenant's owner and admins."""
    account = BillingAccount.objects.select_related("tenant").filter(pk=account_id).first()
    if account is None:
        return 0
    recipients = [user.email for user in services.billing_people(account) if user.email]
    if not recipients:
        return 0
    try:
        return send_mail(title, body, None, recipients)
    except OSError as exc:
        raise self.retry(exc=exc) from exc
