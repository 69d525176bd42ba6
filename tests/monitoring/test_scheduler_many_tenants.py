"""One scheduler run with monitors of several tenants in the same claims: the monitors are read
in one statement across schemas and each result lands in its own tenant's schema."""

from apps.monitoring.models import CheckResult
from tests.monitoring.factories import create, in_tenant, make_due, reload, run_checks


def test_one_run_checks_every_tenant_into_its_own_schema(world, http_target):
    a, b = world["tenant_a"], world["tenant_b"]
    mine = [create(a, kind="http", name=f"a{i}", url=http_target.url + "/ok") for i in range(3)]
    theirs = [create(b, kind="http", name=f"b{i}", url=http_target.url + "/status/503",
                     expected_status=["503"]) for i in range(2)]  # fmt: skip
    make_due(*mine, *theirs)
    counters = run_checks()
    assert counters["written"] >= 5
    for tenant, monitors in ((a, mine), (b, theirs)):
        ids = {m.pk for m in monitors}
        with in_tenant(tenant):
            assert set(CheckResult.objects.values_list("monitor_id", flat=True)) >= ids
        assert all(reload(tenant, m).status == "up" for m in monitors)
    with in_tenant(a):  # nothing of b's in a's schema
        assert not CheckResult.objects.filter(monitor_id__in=[m.pk for m in theirs]).exists()
