"""The operator's side: financial figures against known data, and the admin pages/actions."""

import datetime as dt

import pytest

from apps.billing import selectors, services
from apps.billing.models import BillingAccount, EventStatus, Plan, StripeEvent, Transaction
from apps.core.models import AuditEvent
from apps.tenants.models import Tenant

from .helpers import deliver, stripe_event

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)


def day(month: int, day: int, year: int = 2030) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=dt.UTC)


def account(slug: str, **fields) -> BillingAccount:
    tenant = Tenant.objects.create(name=slug, slug=slug, schema_name=f"t_{slug}", status="active")
    defaults = {"plan": selectors.plan_free(), "subscription_currency": "usd"}
    return BillingAccount.objects.create(tenant=tenant, **{**defaults, **fields})


JAN_1 = day(1, 1)


def paying(slug, amount, interval, status="active", started=JAN_1, **fields):
    return account(
        slug,
        status=status,
        interval=interval,
        subscription_amount_cents=amount,
        stripe_subscription_id=f"sub_{slug}",
        subscription_started_at=started,
        **fields,
    )


@pytest.fixture
def book():
    """Six tenants and five payments whose figures are worked out by hand below."""
    a = paying("fa", 2900, "month")
    b = paying("fb", 27840, "year")  # 2320 a month
    paying("fc", 4900, "month", status="past_due", started=day(5, 20))
    paying("fd", 2900, "month", status="canceled", started=day(12, 1, 2029), canceled_at=day(6, 1))
    paying("fe", 9900, "month", billing_waived=True)  # waived: no revenue
    paying("ff", 2900, "month", status="trialing", started=day(6, 10))  # trial: not yet MRR
    for acct, amount, when, kind in [
        (a, 2900, day(4, 3), "subscription"),
        (b, 27840, day(5, 1), "subscription"),
        (a, 4900, day(5, 20), "purchase"),
        (a, 2900, day(6, 3), "subscription"),
        (a, -900, day(6, 4), "refund"),
        (a, 1000, day(6, 10, 2029), "purchase"),  # outside the 12-month window
    ]:
        Transaction.objects.create(
            account=acct,
            kind=kind,
            amount_cents=amount,
            currency="usd",
            description=kind,
            stripe_ref=f"ref-{acct.pk}-{when.isoformat()}-{amount}",
            occurred_at=when,
        )


def test_mrr_and_arr(book):
    assert selectors.mrr_by_currency() == {"usd": 2900 + 2320 + 4900}
    summary = selectors.financial_summary(now=NOW)
    assert summary["arr"] == {"usd": (2900 + 2320 + 4900) * 12}


def test_active_and_past_due_counts(book):
    summary = selectors.financial_summary(now=NOW)
    assert summary["active_subscriptions"] == 4  # fa, fb, fe (waived, still a subscription), ff
    assert summary["past_due_subscriptions"] == 1


def test_revenue_by_month(book):
    months = selectors.revenue_by_month(now=NOW)
    assert len(months) == 12
    assert months[0]["month"] == "2029-07" and months[-1]["month"] == "2030-06"
    by_month = {row["month"]: row["amounts"] for row in months}
    assert by_month["2030-04"] == {"usd": 2900}
    assert by_month["2030-05"] == {"usd": 27840 + 4900}
    assert by_month["2030-06"] == {"usd": 2900 - 900}
    assert by_month["2030-03"] == {}


def test_churn_over_30_days(book):
    churn = selectors.churn_30d(now=NOW)
    # Paying on 2030-05-16: fa, fb, fd. fc started later, fe is waived, ff is newer.
    assert churn == {"at_start": 3, "churned": 1, "rate": 0.3333}


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/billing/plan/",
        "/admin/billing/plan/add/",
        "/admin/billing/creditbundle/",
        "/admin/billing/billingaccount/",
        "/admin/billing/stripeevent/",
        "/admin/billing/transaction/",
        "/admin/billing/invoice/",
    ],
)
def test_admin_pages_render(admin_client, path, book):
    assert admin_client.get(path).status_code == 200


def test_the_dashboard_shows_the_figures(admin_client, book):
    response = admin_client.get("/admin/billing/plan/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="mrr-usd">10120<' in html
    assert 'id="past-due">1<' in html


def test_the_billing_panel_runs_operator_actions(admin_client, world, superuser):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    page = admin_client.get(f"/admin/billing/billingaccount/{account.pk}/change/")
    assert page.status_code == 200 and "Operator actions" in page.content.decode()
    url = f"/admin/billing/billingaccount/{account.pk}/operate/"
    admin_client.post(url, {"op": "waive"})
    admin_client.post(url, {"op": "credits", "credits": 300, "description": "Goodwill"})
    team = services.plan_save(plan=Plan(name="Team", slug="team", monthly_price_cents=1900))
    admin_client.post(url, {"op": "assign", "plan": str(team.pk), "interval": "month"})
    account.refresh_from_db()
    assert account.billing_waived and account.plan == team
    assert selectors.credit_balances(account)["purchased"] == 300
    assert AuditEvent.objects.filter(action="credits.adjusted", actor_user_id=superuser.pk).exists()
    # A refusal is shown, not raised.
    response = admin_client.post(url, {"op": "period_end"}, follow=True)
    assert response.status_code == 200


def test_admin_creates_a_plan_through_the_service(admin_client):
    response = admin_client.post(
        "/admin/billing/plan/add/",
        {
            "name": "Team",
            "slug": "Team",
            "description": "",
            "sort_order": 1,
            "is_public": "on",
            "monthly_price_cents": 1900,
            "currency": "USD",
            "annual_discount_pct": 10,
            "credits_per_month": 200,
            "credit_reset_policy": "accrue",
            "bonus_credits": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = Plan.objects.get(name="Team")
    assert plan.slug == "team" and plan.currency == "usd"
    assert AuditEvent.objects.filter(action="plan.created", target_id=str(plan.pk)).exists()


def test_the_event_list_shows_status_attempts_and_errors_and_replays(
    admin_client, client, django_capture_on_commit_callbacks
):
    event = stripe_event("invoice.paid", {"id": "in_x", "customer": "cus_unknown"})
    deliver(client, event)
    stored = StripeEvent.objects.get()
    StripeEvent.objects.filter(pk=stored.pk).update(
        status=EventStatus.FAILED, attempts=3, last_error="StripeError: boom"
    )
    listing = admin_client.get("/admin/billing/stripeevent/").content.decode()
    assert "StripeError: boom" in listing and "failed" in listing
    assert admin_client.get(f"/admin/billing/stripeevent/{stored.pk}/change/").status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(
            "/admin/billing/stripeevent/",
            {"action": "replay", "_selected_action": [str(stored.pk)]},
        )
    stored.refresh_from_db()
    assert stored.status == EventStatus.PENDING and len(callbacks) == 1
    assert AuditEvent.objects.filter(action="stripe_event.replayed").exists()
