"""The periodic tasks: accounts for new tenants, waived subscriptions ending, lost events."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.billing import selectors, services
from apps.billing import stripe_events as events
from apps.billing.models import BillingAccount, EventStatus, StripeEvent
from apps.billing.services.checkout import _cancel_at_period_end
from apps.core.actor import SYSTEM
from apps.tenants.models import Tenant

from .factories import plan_make
from .helpers import deliver, stripe_event

pytestmark = pytest.mark.django_db


def test_tenants_without_an_account_get_one_on_the_free_plan(world):
    assert services.billing_accounts_backfill() >= 2
    account = BillingAccount.objects.get(tenant=world["tenant_a"])
    assert account.plan == selectors.plan_free()
    assert services.billing_accounts_backfill() == 0


def test_a_waived_subscription_canceled_at_period_end_ends_then(world):
    plan = plan_make(name="Team", slug="team")
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.operator_waive(account=account, waived=True, actor=SYSTEM)
    services.operator_plan_assign(account=account, plan=plan, actor=SYSTEM)
    end = timezone.now() + dt.timedelta(days=3)
    services.operator_period_end_set(account=account, period_end=end, actor=SYSTEM)
    _cancel_at_period_end(account, cancel=True, actor=SYSTEM)
    assert services.subscriptions_end_local(now=end - dt.timedelta(minutes=1)) == 0
    assert services.subscriptions_end_local(now=end + dt.timedelta(minutes=1)) == 1
    account.refresh_from_db()
    assert account.plan == selectors.plan_free() and account.status == "canceled"
    assert Tenant.objects.get(pk=world["tenant_a"].pk).entitlements["users"] == (
        selectors.plan_free().user_limit
    )


def test_events_left_pending_are_enqueued_again(client, settings, celery_eager):
    # Stored but never enqueued (as when the broker was down at delivery: the on-commit
    # callback of this test's transaction never runs).
    deliver(client, stripe_event("invoice.paid", {"id": "in_lost", "customer": "cus_lost"}))
    event = StripeEvent.objects.get()
    assert event.status == EventStatus.PENDING
    later = timezone.now() + dt.timedelta(seconds=settings.BILLING_WEBHOOK_STUCK_AFTER_S + 1)
    assert events.stripe_events_requeue_stuck(now=timezone.now()) == 0
    assert events.stripe_events_requeue_stuck(now=later) == 1
    event.refresh_from_db()  # processed by the (eager) task: a customer we do not know
    assert event.status == EventStatus.IGNORED and event.attempts == 1
