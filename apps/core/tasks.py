from celery import shared_task
from django.db import connection


@shared_task(name="core.ping")
def ping() -> dict[str, str]:
    """Proves the broker-worker-result round trip (and which schema the task ran in)."""
    return {"pong": "ok", "schema": connection.schema_name}
