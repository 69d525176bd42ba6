from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Users and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import daily_metrics
        from .auth import security_audit  # noqa: F401  (connects the audit receivers)
        from .oauthlib_compat import install

        daily_metrics.register()  # the operator dashboard's daily aggregates
        install()  # allauth's device grant under oauthlib 4 (see the module)
