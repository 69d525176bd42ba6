"""/webhooks/stripe/ (root host)."""

from django.urls import path

from .stripe_webhook import stripe_webhook

urlpatterns = [path("stripe/", stripe_webhook, name="stripe-webhook")]
