from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "apps.deploy"
    label = "deploy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the tenant uses of the limits this app enforces, for the billing page.
        from .usage import usage_counters_register

        usage_counters_register()
