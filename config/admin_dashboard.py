"""Numbers for the operator console's front page (UNFOLD["DASHBOARD_CALLBACK"])."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from apps.core import heartbeat
from apps.tenants.models import Tenant


def dashboard_callback(request, context: dict) -> dict:

    users = get_user_model().objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)), staff=Count("pk", filter=Q(is_staff=True))
    )
    data = {
        "tenants_by_status": list(
            Tenant.objects.values("status").annotate(count=Count("pk")).order_by("status")
        ),
        "users_active": users["active"],
        "users_staff": users["staff"],
        "workers": [],
        "workers_error": "",
    }
    try:
        data["workers"] = [
            {
                "name": name,
                "age_s": round(age),
                "alive": age <= settings.WORKER_HEARTBEAT_MAX_AGE_S,
            }
            for name, age in sorted(heartbeat.heartbeats().items())
        ]
    except Exception as exc:
        data["workers_error"] = type(exc).__name__
    context["dashboard"] = data
    return context
