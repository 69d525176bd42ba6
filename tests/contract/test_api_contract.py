"""The API answers as /api/schema/ says: a property-based contract test against a live server.

Schemathesis reads the OpenAPI document from a real gunicorn serving the test database, and for
every operation (OPTIONS included) generates requests as three callers: a tenant admin's API key,
a member's JWT and an operator's JWT: 5 valid cases (schemathesis' positive mode) and 2 invalid ones
(negative mode: wrong types, missing or extra fields, bad parameters) per operation and caller.
Every answer must be no 5xx, carry a documented status, content type and headers, and a body
matching the documented schema of that status.

The run's tenant has a plan rate far above what the run sends, and the test settings raise the
per-caller throttles, so 429s do not hide answers. Operations left out are in EXCLUDED with their
reason. The case count and time are printed (`-s` shows them; the summary line is also in the
assertion message on failure)."""

from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import dataclass
from functools import partial

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import LiveServer

pytestmark = pytest.mark.contract

CASES_PER_OPERATION = 5
# Invalid inputs: they found POST /tenants answering 500 when routed to a tenant.
NEGATIVE_CASES_PER_OPERATION = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# (method, path) -> why the run does not send it.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/members/leave/"): (
        "the member would leave the tenant the run acts in; its answers are tested in "
        "tests/tenants/test_member_leave.py"
    ),
}


# Objects the run makes through the API before it starts, so that reads of one object ({id} in
# a path) meet a real one in half of their cases: (collection path, body).
SEEDS: list[tuple[str, dict]] = [
    ("/api/v1/monitors/", {"name": "Nightly", "kind": "heartbeat", "heartbeat": {"period_s": 60}}),
    ("/api/v1/alert-channels/", {"name": "On-call", "kind": "email", "config": {"to": ["o@x.io"]}}),
    (
        "/api/v1/maintenance-windows/",
        {
            "name": "Upgrade",
            "starts_at": "2030-01-01T02:00:00Z",
            "ends_at": "2030-01-01T03:00:00Z",
            "monitor_ids": ["{monitor}"],
        },
    ),
    ("/api/v1/silences/", {"monitor_id": "{monitor}", "duration_s": 7200, "reason": "known"}),
    ("/api/v1/status-pages/", {"slug": "{tag}", "title": "Status", "monitor_ids": ["{monitor}"]}),
    (
        "/api/v1/webhook-endpoints/",
        {"url": "http://127.0.0.1:9/h", "event_types": ["monitor.down"]},
    ),
    ("/api/v1/invitations/", {"email": "invitee@contract.example", "role": "member"}),
    ("/api/v1/api-keys/", {"name": "spare", "authority": "member"}),
]


@dataclass
class Caller:
    name: str
    headers: dict[str, str]


def _callers(server: LiveServer) -> list[Caller]:
    tenant = {"X-Tenant-ID": server.tenant_slug}
    return [
        Caller("admin API key", {**tenant, "Authorization": f"Bearer {server.admin_key}"}),
        Caller("member JWT", {**tenant, "Authorization": f"Bearer {server.member_jwt}"}),
        Caller("operator JWT", {**tenant, "Authorization": f"Bearer {server.operator_jwt}"}),
    ]


def _seed(server: LiveServer, session: requests.Session) -> dict[str, dict[str, str]]:
    """Makes SEEDS through the API; returns {path prefix: {path parameter: real value}}."""
    admin = {"X-Tenant-ID": server.tenant_slug, "Authorization": f"Bearer {server.admin_key}"}
    operator = {**admin, "Authorization": f"Bearer {server.operator_jwt}"}
    made: dict[str, str] = {}
    for collection, body in SEEDS:
        text = json.dumps(body)
        text = text.replace("{monitor}", made.get("/api/v1/monitors/", "")).replace(
            "{tag}", server.tenant_slug
        )
        answer = session.post(
            server.url + collection,
            data=text,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert answer.status_code == 201, (collection, answer.status_code, answer.text)
        made[collection] = answer.json()["id"]

    def first(path: str, headers: dict[str, str], field: str = "id") -> str:
        answer = session.get(server.url + path, headers=headers).json()
        rows = answer["results"] if isinstance(answer, dict) else answer
        return str(rows[0][field])

    ids = {f"{collection}{{id}}": {"id": pk} for collection, pk in made.items()}
    app = server.app
    ids.update(
        {
            "/api/v1/apps/{id}": {"id": app["app"]},
            "/api/v1/apps/{app_pk}": {"app_pk": app["app"]},
            "/api/v1/apps/{app_pk}/releases/{id}": {"id": app["release"]},
            "/api/v1/apps/{app_pk}/deployments/{id}": {"id": app["deployment"]},
            "/api/v1/apps/{app_pk}/domains/{id}": {"id": app["domain"]},
            "/api/v1/apps/{app_pk}/env-vars/{key}": {"key": app["env_key"]},
            "/api/v1/members/{id}": {"id": server.member_membership},
            "/api/v1/tenants/{id}": {"id": server.tenant_id},
            "/api/v1/admin/tenants/{id}": {"id": server.tenant_id},
            "/api/v1/audit-events/{id}": {"id": first("/api/v1/audit-events/", admin)},
            "/api/v1/admin/audit-events/{id}": {
                "id": first("/api/v1/admin/audit-events/", operator)
            },
            "/api/v1/admin/config-variables/{name}": {
                "name": first("/api/v1/admin/config-variables/", operator, "name")
            },
        }
    )
    return ids


def _real_path_parameters(path: str, ids: dict[str, dict[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for prefix, values in ids.items():
        if path.startswith(prefix):
            found.update(values)
    return found


def _run(
    operation,
    caller: Caller,
    base_url: str,
    session: requests.Session,
    real: dict[str, str],
    mode=None,
    examples: int = CASES_PER_OPERATION,
) -> int:
    """Sends generated cases of one operation as one caller; returns how many were sent.

    Reads (GET, OPTIONS) of one object use real ids in every other case, so their 200 answers
    are checked too; writes keep generated ids (they must not delete what later reads need)."""
    sent = 0
    use_real = operation.method.upper() in ("GET", "OPTIONS") and bool(real)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(mode or GenerationMode.POSITIVE))
    def check(case) -> None:
        nonlocal sent
        case.headers = {**(case.headers or {}), **caller.headers}
        if use_real and sent % 2 == 0:
            case.path_parameters = {**(case.path_parameters or {}), **real}
        response = case.call(base_url=base_url, session=session, timeout=30)
        sent += 1
        case.validate_response(response, checks=CHECKS, headers=caller.headers)

    check()
    return sent


def _run_as(
    caller: Caller, operations: list, base_url: str, ids: dict[str, dict[str, str]]
) -> tuple[int, list[str]]:
    """Every operation as one caller (its own thread and connection pool)."""
    session = requests.Session()
    sent, failures = 0, []
    for operation in operations:
        real = _real_path_parameters(operation.path, ids)
        try:
            sent += _run(operation, caller, base_url, session, real)
            sent += _run(
                operation,
                caller,
                base_url,
                session,
                {},
                GenerationMode.NEGATIVE,
                NEGATIVE_CASES_PER_OPERATION,
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis raises exception groups
            # One operation's failure must not hide the others'.
            title = f"--- {operation.method.upper()} {operation.path} as {caller.name}"
            failures.append(f"{title}\n{exc}"[:4000])
    return sent, failures


def _side_by_side(jobs: list) -> list[tuple[int, list[str]]]:
    """Runs each job in a forked process and returns their results in order. Processes, not
    threads: CPython 3.11's ast module is not thread-safe ("AST constructor recursion depth
    mismatch"), and hypothesis and schemathesis compile code while they generate."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def work(index: int, job) -> None:
        try:
            queue.put((index, job()))
        except BaseException as exc:
            queue.put((index, (0, [f"--- the run itself failed\n{exc!r}"])))

    processes = [context.Process(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for process in processes:
        process.start()
    results = dict(queue.get(timeout=600) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    return [results[i] for i in range(len(jobs))]


def test_every_operation_answers_as_documented(contract_server: LiveServer) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{contract_server.url}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    exercised = [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]
    ids = _seed(contract_server, requests.Session())
    callers = _callers(contract_server)
    results = _side_by_side(
        [partial(_run_as, c, exercised, contract_server.url, ids) for c in callers]
    )
    counts = {caller.name: sent for caller, (sent, _) in zip(callers, results, strict=True)}
    failures = [failure for _, found in results for failure in found]
    elapsed = time.monotonic() - started
    summary = (
        f"API contract: {len(exercised)} operations ({len(EXCLUDED)} excluded), "
        f"{sum(counts.values())} cases ({', '.join(f'{n}: {c}' for n, c in counts.items())}), "
        f"{len(failures)} failing, {elapsed:.0f} s"
    )
    print(summary)
    assert not failures, summary + "\n\n" + "\n\n".join(failures)
    assert all(sent >= CASES_PER_OPERATION * len(exercised) for sent in counts.values()), counts
