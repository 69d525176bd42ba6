from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "apps.deploy"
    label = "deploy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the tenant uses of the limits this app enforces, for the billing page.
        from celery.signals import worker_init

        from . import checks  # registers the sandbox's system checks
        from .usage import usage_counters_register

        usage_counters_register()
        # A worker that would deploy apps refuses to start in production when the sandbox
        # cannot run, and warns on every start when it is off (apps/deploy/checks.py).
        worker_init.connect(checks.on_worker_init, dispatch_uid="qs-deploy-sandbox")
        from . import daily_metrics

        daily_metrics.register()  # the operator dashboard's daily aggregates
