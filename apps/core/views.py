import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import metrics as quayside_metrics
from .health import readiness
from .problems import problem_response

logger = logging.getLogger("quayside.http")
JSON_PREFIXES = ("/api/", "/webhooks/")


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    ok, components = readiness()
    response = JsonResponse(
        {"status": "ok" if ok else "fail", "components": components}, status=200 if ok else 503
    )
    if not ok:
        response["Retry-After"] = "10"
    return response


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for a scraper holding METRICS_TOKEN (absent when it is unset)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        supplied.strip().encode(), token.encode()
    ):
        return problem_response(
            request,
            status=401,
            slug="not-authenticated",
            detail="Send the scrape token as `Authorization: Bearer <METRICS_TOKEN>`.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(
        quayside_metrics.exposition(), content_type=quayside_metrics.CONTENT_TYPE_LATEST
    )


@csrf_exempt
def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    return problem_response(
        request, status=404, slug="not-found", detail="There is no API endpoint at this path."
    )


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES) or "json" in request.headers.get("Accept", "")


def handler404(request: HttpRequest, exception=None) -> HttpResponse:
    if wants_json(request):
        return problem_response(request, status=404, slug="not-found", detail="Not found.")
    return render(request, "404.html", status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return problem_response(
            request,
            status=500,
            slug="server-error",
            detail="Something went wrong on our side. Quote the request_id when you report it.",
        )
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if wants_json(request):
        return problem_response(
            request,
            status=403,
            slug="permission-denied",
            detail="CSRF check failed: send the X-CSRFToken header with session authentication, "
            "or authenticate with a bearer token.",
        )
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)
