from django.apps import AppConfig


class WebhookDueConfig(AppConfig):
    name = "apps.webhooks.due"
    label = "webhooks_due"
    verbose_name = "Webhook due index"
    default_auto_field = "django.db.models.BigAutoField"
