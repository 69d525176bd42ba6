"""No flapping: down only after `failures_before_down` failures in a row, up again only after
`successes_before_up` successes in a row."""

from tests.monitoring.factories import check_once, create, in_tenant


def test_failures_before_down_and_successes_before_up(world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="flip", url=http_target.url + "/flip",
                     failures_before_down=3, successes_before_up=2)  # fmt: skip
    state = http_target.state
    assert check_once(tenant, monitor).status == "up"  # first verdict: up at once

    state["flip"] = 500
    assert check_once(tenant, monitor).status == "up"
    assert check_once(tenant, monitor).status == "up"
    state["flip"] = 200  # a blip of two failures: never down
    assert check_once(tenant, monitor).status == "up"
    state["flip"] = 500
    for _ in range(2):
        assert check_once(tenant, monitor).status == "up"
    monitor = check_once(tenant, monitor)
    assert monitor.status == "down" and monitor.fail_streak == 3

    state["flip"] = 200
    assert check_once(tenant, monitor).status == "down"
    state["flip"] = 500
    assert check_once(tenant, monitor).status == "down"
    state["flip"] = 200
    assert check_once(tenant, monitor).status == "down"
    assert check_once(tenant, monitor).status == "up"
    with in_tenant(tenant):
        assert monitor.incidents.count() == 1
        assert monitor.results.count() == 11
