from django.apps import AppConfig


class AddonsConfig(AppConfig):
    name = "apps.addons"
    label = "addons"
    default_auto_field = "django.db.models.BigAutoField"
