"""OpenAPI: every operation documents the tenant header, Idempotency-Key on POST, and its
problem-details error answers, so clients see the whole contract in /api/schema/."""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


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


COMMON_ERRORS = ("400", "401", "404", "429", "500")
WRITE_ERRORS = ("409",)
PROBLEM_MEDIA = ["application/problem+json"]

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
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = COMMON_ERRORS + (WRITE_ERRORS if self.method != "GET" else ())
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    Problem, code, media_types=PROBLEM_MEDIA, direction=direction
                )
        return responses
