"""Lock scope (review D): taking a billing account's row lock locks neither its plan nor its
tenant, and a Stripe event handler locks only the account."""

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.billing import services
from apps.billing.services._common import _lock

from .factories import STRIPE_CUSTOMER, account_with_customer

pytestmark = pytest.mark.django_db


def test_locking_an_account_locks_neither_its_plan_nor_its_tenant(world):
    account = services.billing_account_ensure(tenant=world["tenant_b"])
    params = connection.settings_dict
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            _lock(account)
        # The tenant row is written (its limits) by billing_account_ensure in this transaction,
        # so another connection cannot tell; the statement shows what is locked.
        assert queries.captured_queries[-1]["sql"].endswith(
            'FOR UPDATE OF "billing_billingaccount"'
        )
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            user=params["USER"],
            dbname=params["NAME"],
            autocommit=True,
        ) as other:
            # What an UPDATE of the plan takes (the account's insert, uncommitted here, holds
            # FOR KEY SHARE on it, which this does not conflict with).
            other.execute(
                "select 1 from billing_plan where id = %s for no key update nowait",
                [account.plan_id],
            )


def test_an_event_handler_locks_only_the_account(world):
    from apps.billing.stripe_events import _account

    account = account_with_customer(world["tenant_a"])
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            assert _account({"customer": STRIPE_CUSTOMER}).pk == account.pk
        assert queries.captured_queries[-1]["sql"].endswith(
            'FOR UPDATE OF "billing_billingaccount"'
        )
