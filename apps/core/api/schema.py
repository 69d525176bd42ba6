"""OpenAPI: every operation documents the tenant header, Idempotency-Key on POST, and its
problem-details error answers, so clients see the whole contract in /api/schema/."""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.core.problems import SLUGS_BY_STATUS, problem_type

from .versioning import versioned_parameters


class ProblemFieldError(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class Problem(serializers.Serializer):
    """RFC 9457 problem details (docs/problems.md lists every type)."""

    type = serializers.CharField(help_text="/problems/<slug>")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    request_id = serializers.CharField()
    errors = ProblemFieldError(many=True, required=False)


# The problem answers every operation can give: bad input (query, NUL, header), no or bad
# credentials, a role or credential kind that may not (API keys on person-only routes, roles in
# tenants), an unknown tenant or object, a throttle, a bug.
COMMON_ERRORS = ("400", "401", "403", "404", "429", "500")
OPTIONS_ERRORS = COMMON_ERRORS
# Writes also: state or limits forbid it, the tenant is suspended, the body is not JSON.
WRITE_ERRORS = ("409", "415", "423")
# POST also: an Idempotency-Key sent before with another body.
POST_ERRORS = ("422",)
PROBLEM_MEDIA = ["application/problem+json"]


def problem_response_description(code: str) -> str:
    """'Problem details: `/problems/not-found`.' for a status code's answer."""
    slugs = SLUGS_BY_STATUS.get(int(code), ())
    types = " or ".join(f"`{problem_type(slug)}`" for slug in slugs)
    return f"Problem details: {types}." if types else "Problem details."


TENANT_HEADER = OpenApiParameter(
    "X-Tenant-ID",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Tenant slug or id, on the root host. Tenant hosts (<slug>.BASE_DOMAIN) need none.",
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a POST safely for 24 h: the same key and body return the first response.",
)


class AutoSchema(openapi.AutoSchema):
    def get_override_parameters(self):
        parameters = [*super().get_override_parameters(), TENANT_HEADER]
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_HEADER)
        return [*parameters, *versioned_parameters(self.view, self.method)]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = COMMON_ERRORS
        if self.method not in ("GET", "HEAD"):
            codes += WRITE_ERRORS
        if self.method == "POST":
            codes += POST_ERRORS
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    Problem, code, media_types=PROBLEM_MEDIA, direction=direction
                )
        return responses


class ObjectAutoSchema(AutoSchema):
    """For a `list` route that answers one object (a report), not an array of them:
    drf-spectacular takes every `list` action for a collection."""

    def _is_list_view(self, serializer=None) -> bool:
        return False
