"""Operator console for billing: catalogue CRUD with "Sync to Stripe", each tenant's billing
panel with the operator actions, all transactions and invoices, Stripe events with "replay",
and the financial dashboard (/admin/billing/dashboard/). Every change goes through a service."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from apps.core.actor import Actor
from apps.core.admin_mixins import VersionGuardForm
from apps.core.problems import ApplicationError

from . import selectors, services, stripe_events
from .models import (
    BillingAccount,
    CreditBundle,
    CreditEntry,
    Interval,
    Invoice,
    InvoiceLine,
    Plan,
    StripeEvent,
    Transaction,
)
from .pdf import invoice_pdf, money


def _report(request, modeladmin, function, *args, **kwargs) -> bool:
    """Run a service; show its refusal as a message instead of a 500."""
    try:
        function(*args, **kwargs)
    except ApplicationError as exc:
        modeladmin.message_user(request, exc.detail, messages.ERROR)
        return False
    return True


# --- Catalogue ------------------------------------------------------------------------------


STRIPE_FIELDS = ("stripe_product_id", "stripe_synced_at")


class PlanForm(VersionGuardForm):
    class Meta:
        model = Plan
        fields = "__all__"


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    list_display = (
        "name",
        "slug",
        "monthly",
        "annual",
        "credits_per_month",
        "credit_reset_policy",
        "user_limit",
        "is_public",
        "is_archived",
        "subscribers",
        "stripe_synced_at",
    )
    list_filter = ("is_public", "is_archived", "credit_reset_policy")
    search_fields = ("name", "slug")
    readonly_fields = ("is_system", "stripe_product_id", "stripe_synced_at", "created_at")
    actions = ("sync_to_stripe",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "sort_order", "is_public")}),
        ("Price", {"fields": ("monthly_price_cents", "currency", "annual_discount_pct")}),
        ("Credits", {"fields": ("credits_per_month", "credit_reset_policy", "bonus_credits")}),
        (
            "Entitlements (empty = unlimited)",
            {
                "fields": (
                    "user_limit",
                    "max_apps",
                    "max_processes",
                    "max_monitors",
                    "max_custom_domains",
                    "api_rate_limit_per_min",
                )
            },
        ),
        (
            "Sandbox resources (empty = the operator's default)",
            {
                "fields": ("memory_mb", "cpu_millicores", "pids", "disk_mb"),
                "description": "What each app gets where it runs: memory and CPU per process, "
                "processes per sandbox, disk per app (docs/billing.md, Resource limits).",
            },
        ),
        (
            "Add-ons (empty = the operator's default)",
            {
                "fields": ("addon_postgres_mb", "addon_redis_mb", "addon_backups_kept"),
                "description": "Size of each PostgreSQL add-on, memory of each Redis add-on, "
                "backups kept per add-on (docs/addons.md).",
            },
        ),
        ("State", {"fields": ("is_archived", "is_system", *STRIPE_FIELDS, "expected_version")}),
    )
    form = PlanForm

    @admin.display(description="Monthly")
    def monthly(self, plan: Plan) -> str:
        return money(plan.monthly_price_cents, plan.currency)

    @admin.display(description="Annual")
    def annual(self, plan: Plan) -> str:
        return money(plan.annual_price_cents, plan.currency)

    @admin.display(description="Tenants")
    def subscribers(self, plan: Plan) -> int:
        return plan.accounts.count()

    def save_model(self, request, obj, form, change):
        if not change:
            services.plan_save(plan=obj, actor=Actor.from_request(request))
            return
        # The form refused a stale version already; this catches a save in the same instant.
        seen = form.cleaned_data.get("expected_version")
        if not _report(
            request, self, services.plan_save, plan=obj, actor=Actor.from_request(request),
            expected_version=seen,
        ):  # fmt: skip
            request._stale_save = True

    def response_change(self, request, obj):
        if getattr(request, "_stale_save", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def delete_model(self, request, obj):
        _report(request, self, services.plan_delete, plan=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        for plan in queryset:
            self.delete_model(request, plan)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.is_system)

    @admin.action(description="Sync to Stripe")
    def sync_to_stripe(self, request, queryset):
        synced = 0
        for plan in queryset:
            if plan.is_free:
                continue
            synced += _report(
                request,
                self,
                services.plan_sync_to_stripe,
                plan=plan,
                actor=Actor.from_request(request),
            )
        self.message_user(request, f"{synced} plan(s) synced to Stripe.", messages.SUCCESS)

    def get_urls(self):
        dashboard = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name="billing_dashboard",
        )
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        if not request.user.is_staff:
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Billing: financial dashboard",
            "summary": selectors.financial_summary(),
        }
        return TemplateResponse(request, "billing/admin_dashboard.html", context)


@admin.register(CreditBundle)
class CreditBundleAdmin(ModelAdmin):
    list_display = ("name", "credits", "price", "is_active", "sort_order", "stripe_synced_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    readonly_fields = ("stripe_product_id", "stripe_synced_at", "created_at")
    actions = ("sync_to_stripe",)

    @admin.display(description="Price")
    def price(self, bundle: CreditBundle) -> str:
        return money(bundle.price_cents, bundle.currency)

    def save_model(self, request, obj, form, change):
        services.bundle_save(bundle=obj, actor=Actor.from_request(request))

    @admin.action(description="Sync to Stripe")
    def sync_to_stripe(self, request, queryset):
        synced = sum(
            _report(
                request,
                self,
                services.bundle_sync_to_stripe,
                bundle=b,
                actor=Actor.from_request(request),
            )
            for b in queryset
        )
        self.message_user(request, f"{synced} bundle(s) synced to Stripe.", messages.SUCCESS)


# --- Per-tenant billing panel ---------------------------------------------------------------


class CreditEntryInline(TabularInline):
    model = CreditEntry
    fields = ("created_at", "kind", "bucket", "amount", "balance_after", "description")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


class TransactionInline(TabularInline):
    model = Transaction
    fields = ("occurred_at", "kind", "amount_cents", "currency", "description", "invoice")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


OPERATIONS = {
    "assign": "Assign plan",
    "waive": "Waive billing",
    "unwaive": "Stop waiving billing",
    "cancel_end": "Cancel at period end",
    "cancel_now": "Cancel now",
    "period_end": "Edit period end",
    "credits": "Grant or remove credits",
}


class OperateForm(forms.Form):
    """The operator actions of the panel; `op` says which, the other fields its inputs."""

    op = forms.ChoiceField(choices=list(OPERATIONS.items()))
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), required=False)
    interval = forms.ChoiceField(choices=Interval.choices, required=False)
    period_end = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    credits = forms.IntegerField(required=False)
    description = forms.CharField(required=False, max_length=200)


@admin.register(BillingAccount)
class BillingAccountAdmin(ModelAdmin):
    list_display = (
        "tenant",
        "plan",
        "status",
        "interval",
        "current_period_end",
        "cancel_at_period_end",
        "billing_waived",
        "past_due_since",
        "suspended_by_billing",
    )
    list_filter = ("status", "billing_waived", "plan", "suspended_by_billing")
    list_select_related = ("tenant", "plan")
    search_fields = ("tenant__slug", "tenant__name", "stripe_customer_id", "stripe_subscription_id")
    readonly_fields = [f.name for f in BillingAccount._meta.fields]
    inlines = (CreditEntryInline, TransactionInline)
    change_form_template = "billing/admin_account_change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        operate = path(
            "<uuid:pk>/operate/",
            self.admin_site.admin_view(self.operate_view),
            name="billing_billingaccount_operate",
        )
        return [operate, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        extra = {
            **(extra_context or {}),
            "operate_form": OperateForm(),
            "operate_url": reverse("admin:billing_billingaccount_operate", args=[object_id])
            if account
            else "",
            "credits": selectors.credit_balances(account) if account else {},
        }
        return super().change_view(request, object_id, form_url, extra)

    def operate_view(self, request, pk):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        account = get_object_or_404(BillingAccount, pk=pk)
        form = OperateForm(request.POST)
        back = HttpResponseRedirect(reverse("admin:billing_billingaccount_change", args=[pk]))
        if not form.is_valid():
            self.message_user(request, f"Invalid: {form.errors.as_text()}", messages.ERROR)
            return back
        data = form.cleaned_data
        actor = Actor.from_request(request)
        op = data["op"]
        calls = {
            "waive": lambda: services.operator_waive(account=account, waived=True, actor=actor),
            "unwaive": lambda: services.operator_waive(account=account, waived=False, actor=actor),
            "cancel_end": lambda: services.operator_subscription_cancel(
                account=account, actor=actor, immediate=False
            ),
            "cancel_now": lambda: services.operator_subscription_cancel(
                account=account, actor=actor, immediate=True
            ),
        }
        if op == "assign":
            if data["plan"] is None:
                self.message_user(request, "Choose a plan.", messages.ERROR)
                return back
            calls["assign"] = lambda: services.operator_plan_assign(
                account=account,
                plan=data["plan"],
                actor=actor,
                interval=data["interval"] or Interval.MONTH,
            )
        elif op == "period_end":
            if data["period_end"] is None:
                self.message_user(request, "Give the new period end.", messages.ERROR)
                return back
            calls["period_end"] = lambda: services.operator_period_end_set(
                account=account, period_end=data["period_end"], actor=actor
            )
        elif op == "credits":
            calls["credits"] = lambda: services.credits_adjust(
                account=account,
                amount=data["credits"] or 0,
                description=data["description"],
                actor=actor,
            )
        if _report(request, self, calls[op]):
            self.message_user(request, f"Done: {OPERATIONS[op]}.")
        return back


# --- Money ----------------------------------------------------------------------------------


@admin.register(Transaction)
class TransactionAdmin(ModelAdmin):
    list_display = ("occurred_at", "tenant", "kind", "amount", "description", "invoice")
    list_filter = ("kind", "currency")
    list_select_related = ("account__tenant", "invoice")
    search_fields = ("description", "invoice__number", "account__tenant__slug", "stripe_ref")
    readonly_fields = [f.name for f in Transaction._meta.fields]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    @admin.display(description="Tenant")
    def tenant(self, row: Transaction) -> str:
        return row.account.tenant.slug

    @admin.display(description="Amount")
    def amount(self, row: Transaction) -> str:
        return money(row.amount_cents, row.currency)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceLineInline(TabularInline):
    model = InvoiceLine
    fields = ("description", "quantity", "unit_amount_cents", "amount_cents")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Invoice)
class InvoiceAdmin(ModelAdmin):
    list_display = ("number", "tenant", "status", "kind", "discount", "total", "issued_at", "pdf")
    list_filter = ("status", "kind")
    list_select_related = ("account__tenant",)
    search_fields = ("number", "stripe_invoice_id", "account__tenant__slug")
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = (InvoiceLineInline,)
    show_full_result_count = False

    @admin.display(description="Tenant")
    def tenant(self, invoice: Invoice) -> str:
        return invoice.account.tenant.slug

    @admin.display(description="Discount")
    def discount(self, invoice: Invoice) -> str:
        return money(invoice.discount_cents, invoice.currency) if invoice.discount_cents else "-"

    @admin.display(description="Total")
    def total(self, invoice: Invoice) -> str:
        return money(invoice.total_cents, invoice.currency)

    @admin.display(description="PDF")
    def pdf(self, invoice: Invoice) -> str:
        if not invoice.number:
            return "-"
        url = reverse("admin:billing_invoice_pdf", args=[invoice.pk])
        return format_html('<a href="{}">PDF</a>', url)

    def get_urls(self):
        pdf = path(
            "<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="billing_invoice_pdf"
        )
        return [pdf, *super().get_urls()]

    def pdf_view(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk, number__isnull=False)
        return HttpResponse(invoice_pdf(invoice), content_type="application/pdf")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Stripe events --------------------------------------------------------------------------


@admin.register(StripeEvent)
class StripeEventAdmin(ModelAdmin):
    list_display = (
        "stripe_event_id",
        "type",
        "status",
        "attempts",
        "customer_id",
        "stripe_created",
        "received_at",
        "processed_at",
        "error",
    )
    list_filter = ("status", "type")
    search_fields = ("stripe_event_id", "customer_id", "object_id")
    readonly_fields = [f.name for f in StripeEvent._meta.fields if f.name != "payload"] + [
        "payload_pretty"
    ]
    exclude = ("payload",)
    actions = ("replay",)
    show_full_result_count = False

    @admin.display(description="Last error")
    def error(self, event: StripeEvent) -> str:
        return event.last_error[:80]

    @admin.display(description="Payload")
    def payload_pretty(self, event: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The list shows no payload: leave the big column out of its query.
        return (
            queryset
            if request.resolver_match.url_name.endswith("change")
            else queryset.defer("payload")
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Replay (process again)")
    def replay(self, request, queryset):
        count = 0
        for event in queryset:
            stripe_events.stripe_event_replay(event=event, actor=Actor.from_request(request))
            count += 1
        self.message_user(request, f"{count} event(s) queued for processing.", messages.SUCCESS)
