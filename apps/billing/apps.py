from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Quota-exceeded problems name the plan that lifts the limit (apps/billing/quota.py),
        # once core offers problem extensions (PROBLEM_EXTENSIONS; see docs/billing.md).
        from apps.core import problems

        from .quota import quota_upgrade_hint

        extensions = getattr(problems, "PROBLEM_EXTENSIONS", None)
        if extensions is not None and quota_upgrade_hint not in extensions:
            extensions.append(quota_upgrade_hint)
        from . import daily_metrics

        daily_metrics.register()  # the operator dashboard's daily aggregates
