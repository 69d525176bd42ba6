from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "apps.monitoring.schedule"
    label = "monitoring_schedule"
    verbose_name = "Check schedule"
    default_auto_field = "django.db.models.BigAutoField"
