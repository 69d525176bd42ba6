"""The billing page of the tenant console: /console/billing/ on the tenant's host.

The current plan and its state, what the tenant uses of each limit, the plans on offer with
buttons to Stripe Checkout, the customer portal, the invoices with their PDFs, and the newest
entries of the credits ledger (every member, as the API's `GET /billing/credits/entries`).
Who sees and does what follows the billing API exactly (apps/billing/api/): every member sees
the plan, usage and plans; owners and admins see invoices and download their PDFs; buying and
the portal are for the owner, and admins when the owner allows it (`admins_can_buy`), as the
services enforce. A tenant suspended for an unpaid bill can still pay here (its pages are otherwise
read-only), as in the API.

Thin views: billing's selectors read, its services write; nothing here touches Stripe itself."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from apps.core.actor import Actor
from apps.core.problems import ApplicationError
from apps.tenants.console import ConsolePage, console_read_only, console_role, console_site
from apps.tenants.models import Role
from apps.tenants.resource_limits import RESOURCE_LIMITS
from apps.tenants.roles import role_at_least
from apps.tenants.selectors import LimitUsage

from . import selectors, services
from .models import Interval, SubscriptionStatus
from .pdf import invoice_pdf, money

PAGE = "billing"
CREDIT_ROWS = 20  # the ledger's newest entries on the page; all of them are in the API
# The API's roles (BillingAccountViewSet, InvoiceViewSet): a view-level floor, then the services.
INVOICE_ROLE = Role.ADMIN
BUY_ROLE = Role.ADMIN

LIMIT_LABELS = {
    "users": "Members and invitations",
    "apps": "Apps",
    "processes": "Processes",
    "monitors": "Monitors",
    "webhook_endpoints": "Webhook endpoints",
    "custom_domains": "Custom domains",
    "api_requests_per_min": "API requests per minute",
    **{name: limit.label for name, limit in RESOURCE_LIMITS.items()},
}
STATUS_LABELS = {
    SubscriptionStatus.TRIALING: "Trial",
    SubscriptionStatus.ACTIVE: "Active",
    SubscriptionStatus.PAST_DUE: "Past due",
    SubscriptionStatus.CANCELED: "Canceled",
    SubscriptionStatus.UNPAID: "Unpaid",
}
CHECKOUT_RESULTS = {
    "success": (
        messages.SUCCESS,
        "Thank you. The plan changes here as soon as Stripe confirms the payment.",
    ),
    "canceled": (messages.INFO, "Checkout was canceled; nothing changed."),
}


@dataclass(frozen=True)
class UsageBar:
    """One limit as the page draws it: `percent` of the bar filled, `level` its colour."""

    name: str
    label: str
    used: int | None
    limit: int | None
    percent: int
    level: str  # "ok", "high" (80 % and more), "full", "unlimited", "rate", "size"
    text: str = ""  # a size as people read it ("256 MB")

    @classmethod
    def of(cls, row: LimitUsage) -> UsageBar:
        label = LIMIT_LABELS.get(row.name, row.name)
        if resource := RESOURCE_LIMITS.get(row.name):  # a size each process or app gets
            if row.limit is None:
                default = resource.default()
                text = "default" if default is None else f"{resource.describe(default)} (default)"
            else:
                text = resource.describe(row.limit)
            return cls(row.name, label, None, row.limit, 0, "size", text)
        if row.used is None:  # a rate (requests per minute): nothing to count
            return cls(row.name, label, None, row.limit, 0, "rate")
        if row.limit is None:
            return cls(row.name, label, row.used, None, 0, "unlimited")
        percent = 100 if row.limit == 0 else min(100, round(row.used * 100 / row.limit))
        level = "full" if row.used >= row.limit else "high" if percent >= 80 else "ok"
        return cls(row.name, label, row.used, row.limit, percent, level)


class CheckoutForm(forms.Form):
    plan = forms.SlugField(max_length=60)
    interval = forms.ChoiceField(choices=Interval.choices, required=False)

    def clean_interval(self) -> str:
        return self.cleaned_data["interval"] or Interval.MONTH


def _page_url() -> str:
    return reverse(f"{console_site.name}:{PAGE}")


@require_safe
def billing_page(request: HttpRequest) -> TemplateResponse:
    tenant = request.tenant
    role = console_role(request)
    account = services.billing_account_ensure(tenant=tenant)
    if result := CHECKOUT_RESULTS.get(request.GET.get("checkout", "")):
        messages.add_message(request, *result)
    sees_invoices = role_at_least(role, INVOICE_ROLE)
    invoices = selectors.invoices_recent(account=account) if sees_invoices else []
    issued = selectors.invoices_issued_count(account=account) if sees_invoices else 0
    plans = list(selectors.plans_public().order_by("sort_order", "monthly_price_cents"))
    context = {
        **console_site.each_context(request),
        "title": "Billing",
        "account": account,
        "status_label": STATUS_LABELS.get(account.status, account.status),
        "price": _plan_price(account),
        "credits": selectors.credit_balances(account),
        "credit_entries": list(
            selectors.credit_entries_for_account(account=account).order_by("-created_at", "-id")[
                :CREDIT_ROWS
            ]
        ),
        "usage": [UsageBar.of(row) for row in selectors.limits_usage(tenant=tenant)],
        "plans": [_plan_offer(plan, account) for plan in plans],
        "may_buy": selectors.may_buy(account=account, role=role),
        "buyers": "the owner or an admin" if account.admins_can_buy else "the owner",
        "sees_invoices": sees_invoices,
        "invoices": [
            {"invoice": invoice, "total": money(invoice.total_cents, invoice.currency)}
            for invoice in invoices
        ],
        "invoices_more": issued - len(invoices),
        "read_only": console_read_only(request),
    }
    return TemplateResponse(request, "console/billing.html", context)


def _plan_price(account) -> str:
    """What the tenant pays: the Stripe subscription's amount, else the plan's list price."""
    plan = account.plan
    if plan.is_free:
        return "Free"
    if account.billing_waived:
        return "Waived by the operator"
    interval = account.interval or Interval.MONTH
    if account.subscription_amount_cents is not None:
        amount = money(account.subscription_amount_cents, account.subscription_currency)
    else:
        amount = money(plan.price_cents(interval), plan.currency)
    return f"{amount} per {interval}"


def _plan_offer(plan, account) -> dict:
    return {
        "plan": plan,
        "current": plan.pk == account.plan_id,
        "monthly": money(plan.monthly_price_cents, plan.currency),
        "annual": money(plan.annual_price_cents, plan.currency),
        "limits": [
            (LIMIT_LABELS.get(name, name), limit_text(name, value))
            for name, value in plan.entitlements().items()
        ],
    }


def limit_text(name: str, value: int | None) -> str | int:
    """A plan's limit on its card: counts as numbers ("unlimited" when none), sandbox sizes
    with their unit ("the operator's default" when the plan sets none)."""
    if resource := RESOURCE_LIMITS.get(name):
        return "default" if value is None else resource.describe(value)
    return "unlimited" if value is None else value


def _buyer_floor(request: HttpRequest) -> None:
    """The API's floor for buying (admins); the services then apply `admins_can_buy`."""
    if not role_at_least(console_role(request), BUY_ROLE):
        raise PermissionDenied("Only the owner, or an admin the owner allows, manages billing.")


def _refused(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A service's refusal: 403 as 403 (as the API answers), anything else told on the page."""
    if exc.status == 403:
        raise PermissionDenied(exc.detail)
    messages.error(request, exc.detail)
    return HttpResponseRedirect(_page_url())


@require_POST
def billing_checkout(request: HttpRequest) -> HttpResponse:
    """Choose a plan: Stripe Checkout (303 to Stripe's page), or activated at once (free
    plans, waived billing) and back to the page."""
    _buyer_floor(request)
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a plan and a billing period.")
        return HttpResponseRedirect(_page_url())
    plan = selectors.plan_get_public(form.cleaned_data["plan"])
    if plan is None:
        raise Http404("No such plan.")
    try:
        result = services.checkout_start(
            tenant=request.tenant,
            actor=Actor.from_request(request, role=console_role(request)),
            plan=plan,
            interval=form.cleaned_data["interval"],
        )
    except ApplicationError as exc:
        return _refused(request, exc)
    if result["checkout_url"]:
        return HttpResponseRedirect(result["checkout_url"], status=303)
    messages.success(request, f"You are now on {plan.name}.")
    return HttpResponseRedirect(_page_url())


@require_POST
def billing_portal(request: HttpRequest) -> HttpResponse:
    """Stripe's customer portal: cards, invoices at Stripe, plan changes, cancellation."""
    _buyer_floor(request)
    try:
        url = services.portal_open(
            tenant=request.tenant, actor=Actor.from_request(request, role=console_role(request))
        )
    except ApplicationError as exc:
        return _refused(request, exc)
    return HttpResponseRedirect(url, status=303)


@require_safe
def billing_invoice_pdf(request: HttpRequest, invoice_id) -> HttpResponse:
    """One of this tenant's invoices as PDF (owners and admins); any other id answers 404."""
    if not role_at_least(console_role(request), INVOICE_ROLE):
        raise PermissionDenied("Invoices are for the owner and admins.")
    account = selectors.billing_account_for_tenant(request.tenant)
    invoice = (
        selectors.invoice_get_for_account(account=account, invoice_id=invoice_id)
        if account is not None
        else None
    )
    if invoice is None:
        raise Http404("No such invoice.")
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


for _page in (
    ConsolePage("billing/", PAGE, billing_page, "Plan, usage and invoices", "Billing"),
    ConsolePage(
        "billing/checkout/",
        "billing_checkout",
        billing_checkout,
        "Checkout",
        "Billing",
        in_sidebar=False,
        writable_when_read_only=True,
    ),
    ConsolePage(
        "billing/portal/",
        "billing_portal",
        billing_portal,
        "Portal",
        "Billing",
        in_sidebar=False,
        writable_when_read_only=True,
    ),
    ConsolePage(
        "billing/invoices/<uuid:invoice_id>/pdf/",
        "billing_invoice_pdf",
        billing_invoice_pdf,
        "Invoice PDF",
        "Billing",
        in_sidebar=False,
    ),
):
    console_site.page_register(_page)
