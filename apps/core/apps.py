from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Platform"  # admin section: audit log, config variables, nodes
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import beat_init, worker_ready, worker_shutting_down

        from . import heartbeat, task_context

        worker_ready.connect(heartbeat.on_worker_ready, dispatch_uid="qs-heartbeat-start")
        worker_shutting_down.connect(heartbeat.on_worker_shutdown, dispatch_uid="qs-heartbeat-stop")
        beat_init.connect(heartbeat.on_beat_init, dispatch_uid="qs-heartbeat-beat")
        task_context.connect()
