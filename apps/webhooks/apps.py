from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the tenant uses of the `webhook_endpoints` limit, for the billing page.
        from .usage import usage_counters_register

        usage_counters_register()
        from . import daily_metrics

        daily_metrics.register()  # the operator dashboard's daily aggregates
