"""OpenAPI examples shared by the tenants API's views."""

from drf_spectacular.utils import OpenApiExample

from apps.core.problems import TITLES


def problem_example(status: int, slug: str, detail: str, **extra) -> OpenApiExample:
    """An example problem-details answer for one status code."""
    return OpenApiExample(
        f"{status} {slug}",
        value={
            "type": f"/problems/{slug}",
            "title": TITLES.get(slug, slug),
            "status": status,
            "detail": detail,
            "instance": "/api/v1/...",
            "request_id": "3f0c1d0a6f7e4a5c9b1e2d3c4b5a6978",
            **extra,
        },
        response_only=True,
        status_codes=[str(status)],
    )
