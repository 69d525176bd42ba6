from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the tenant uses of the limits this app enforces, for the billing page.
        from .usage import usage_counters_register

        usage_counters_register()
        from . import daily_metrics

        daily_metrics.register()  # the operator dashboard's daily aggregates
