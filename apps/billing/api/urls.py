"""/api/v1/ routes of the billing app."""

from django.urls import re_path

from .account import BillingAccountViewSet, BillingConfigViewSet
from .catalogue import BundleViewSet, PlanViewSet
from .credits import CreditViewSet
from .money import InvoiceViewSet, TransactionViewSet

UUID = "[0-9a-fA-F-]{32,36}"


def route(pattern: str, viewset, actions: dict[str, str], name: str):
    return re_path(rf"^billing{pattern}/?$", viewset.as_view(actions), name=name)


urlpatterns = [
    route("", BillingAccountViewSet, {"get": "retrieve", "patch": "partial_update"}, "billing"),
    route("/config", BillingConfigViewSet, {"get": "config"}, "billing-config"),
    route("/checkout", BillingAccountViewSet, {"post": "checkout"}, "billing-checkout"),
    route("/portal", BillingAccountViewSet, {"post": "portal"}, "billing-portal"),
    route("/subscription/cancel", BillingAccountViewSet, {"post": "cancel"}, "billing-cancel"),
    route("/subscription/resume", BillingAccountViewSet, {"post": "resume"}, "billing-resume"),
    route("/plans", PlanViewSet, {"get": "list"}, "billing-plans"),
    route("/bundles", BundleViewSet, {"get": "list"}, "billing-bundles"),
    route("/credits", CreditViewSet, {"get": "balance"}, "billing-credits"),
    route("/credits/entries", CreditViewSet, {"get": "entries"}, "billing-credit-entries"),
    route("/credits/usage", CreditViewSet, {"post": "usage"}, "billing-credit-usage"),
    route("/transactions", TransactionViewSet, {"get": "list"}, "billing-transactions"),
    route("/invoices", InvoiceViewSet, {"get": "list"}, "billing-invoices"),
    route(rf"/invoices/(?P<pk>{UUID})", InvoiceViewSet, {"get": "retrieve"}, "billing-invoice"),
    route(rf"/invoices/(?P<pk>{UUID})/pdf", InvoiceViewSet, {"get": "pdf"}, "billing-invoice-pdf"),
]
