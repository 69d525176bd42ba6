from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "apps.tenants"
    label = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The `users` limit counts members and pending invitations (public schema).
        from . import selectors
        from .usage import UsageCounter, usage_counter_register

        usage_counter_register(
            UsageCounter(
                "users",
                lambda tenant: selectors.tenant_user_count(tenant=tenant),
                in_tenant_schema=False,
            )
        )
