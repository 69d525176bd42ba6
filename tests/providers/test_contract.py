"""The provider contract: the same scenarios against every runtime provider, through a Driver
each (tests/k8s/scenarios.py): `local` for real (supervisord, Caddy, the sandbox; marked
`runtime`) and `kubernetes` through its real client against the API emulator (tests/k8s).

What each asserts is what a user of an app relies on: it answers at its host with the release
that was deployed last, with the config it was given, with the processes the formation names;
a failed step leaves the live release serving; what was deleted is gone."""

from __future__ import annotations

import time

from tests.k8s.scenarios import RELEASE_FAILURE

D1, D2, D3 = "d00000000001", "d00000000002", "d00000000003"


def test_create_and_deploy_serves_the_release(driver):
    app = driver.app_key
    spec = driver.spec(app, D1, artefact=driver.artefact(version="v1"))
    result = driver.ship(spec)
    assert result.ok, result.detail
    assert driver.provider.routed_to(app) == D1
    assert driver.answer(spec) == (200, "v1")
    driver.wait(lambda: driver.states(app) == {D1: ["RUNNING"]})
    assert (app, D1) in driver.provider.program_keys()


def test_scale_up_and_down_the_process_count_follows(driver):
    app = driver.app_key
    artefact = driver.artefact(version="v1")
    assert driver.ship(driver.spec(app, D1, artefact=artefact, formation={"web": 1})).ok
    driver.wait(lambda: driver.running(app, D1) == {"web": 1})
    up = driver.spec(app, D2, artefact=artefact, formation={"web": 3, "worker": 0})
    assert driver.ship(up).ok
    driver.wait(lambda: driver.running(app, D2) == {"web": 3})
    driver.wait(lambda: D1 not in driver.states(app))  # the old release's processes went
    down = driver.spec(app, D3, artefact=artefact, formation={"web": 1, "worker": 0})
    assert driver.ship(down).ok
    driver.provider.unroute_extra(app, 1)
    driver.wait(lambda: list(driver.states(app)) == [D3])
    driver.wait(lambda: driver.running(app, D3) == {"web": 1})
    assert driver.answer(down) == (200, "v1")


def test_an_env_change_is_a_new_deployment_the_app_sees(driver):
    app = driver.app_key
    artefact = driver.artefact(version="v1")
    assert driver.ship(driver.spec(app, D1, artefact=artefact, env={"GREETING": "hello"})).ok
    assert driver.app_env(driver.spec(app, D1, artefact=artefact), "GREETING") == "hello"
    changed = driver.spec(app, D2, artefact=artefact, env={"GREETING": "bonjour"})
    assert driver.ship(changed).ok
    assert driver.provider.routed_to(app) == D2
    assert driver.app_env(changed, "GREETING") == "bonjour"
    driver.wait(lambda: list(driver.states(app)) == [D2])


def test_rollback_to_the_previous_release_serves_it_again(driver):
    app = driver.app_key
    v1, v2 = driver.artefact(version="v1"), driver.artefact(version="v2")
    first = driver.spec(app, D1, artefact=v1, env={"GREETING": "one"})
    assert driver.ship(first).ok
    assert driver.ship(driver.spec(app, D2, artefact=v2, env={"GREETING": "two"})).ok
    assert driver.answer(first) == (200, "v2")
    back = driver.spec(app, D3, artefact=first.artefact, env=first.env)  # v1's spec again
    assert driver.ship(back).ok
    assert driver.provider.routed_to(app) == D3
    assert driver.answer(back) == (200, "v1")
    assert driver.app_env(back, "GREETING") == "one"


def test_stop_leaves_no_process_and_start_serves_again(driver):
    app = driver.app_key
    spec = driver.spec(app, D1, artefact=driver.artefact(version="v1"))
    assert driver.ship(spec).ok
    driver.provider.stop(app, D1)
    driver.publish(spec, kind="stopped")  # what the reconciler pushes for a stopped app
    driver.wait(lambda: driver.status(app) == [])
    assert (app, D1) not in driver.provider.program_keys()
    assert driver.answer(spec)[0] == 503
    driver.provider.stop(app, D1)  # idempotent
    assert driver.ship(spec).ok
    driver.wait(lambda: driver.states(app) == {D1: ["RUNNING"]})
    assert driver.answer(spec) == (200, "v1")


def test_suspending_the_tenant_closes_the_app_and_resuming_opens_it(driver):
    app = driver.app_key
    spec = driver.spec(app, D1, artefact=driver.artefact(version="v1"))
    assert driver.ship(spec).ok
    # Suspended: the reconciler stops the live release and pushes the host table with the
    # app's hosts as kind "suspended" (selectors.routes_desired).
    driver.provider.stop(app, D1)
    assert driver.publish(spec, kind="suspended") is True
    status, _body = driver.answer(spec)
    assert status == driver.suspended_answer
    driver.wait(lambda: driver.status(app) == [])
    # Resumed: the live release starts again and the host is routed to it.
    assert driver.ship(spec).ok
    assert driver.answer(spec) == (200, "v1")


def test_a_failed_release_command_leaves_the_live_release_serving(driver):
    app = driver.app_key
    artefact = driver.artefact(version="v1")
    live = driver.spec(app, D1, artefact=artefact)
    assert driver.ship(live).ok
    assert driver.release(live, "python migrate.py") == 0  # a passing one, for contrast
    command = driver.failing_release()
    next_one = driver.spec(app, D2, artefact=driver.artefact(version="v2"))
    assert driver.release(next_one, command) != 0
    assert driver.deploy(next_one, release_command=command).ok is False
    assert any(RELEASE_FAILURE in line for line in driver.lines), driver.lines
    assert driver.provider.routed_to(app) == D1
    assert driver.answer(live) == (200, "v1")
    assert list(driver.states(app)) == [D1]


def test_a_crash_looping_process_shows_as_not_running_with_a_reason(driver):
    app = driver.app_key
    live = driver.spec(app, D1, artefact=driver.artefact(version="v1"))
    assert driver.ship(live).ok
    _, cursor = driver.provider.process_exits("")
    crashing = driver.spec(app, D2, artefact=driver.crashing(), formation={"crash": 1})
    driver.health_timeout_s = 2.0
    result = driver.deploy(crashing)
    assert not result.ok, result.detail
    assert driver.provider.routed_to(app) == D1
    assert driver.answer(live) == (200, "v1")

    def crashed():
        exits, _ = driver.provider.process_exits(cursor)
        return [e for e in exits if e.deployment_key == D2 and e.process_type == "crash"]

    exits = driver.wait(crashed)
    assert exits[0].reason == "crashed" and exits[0].exit_code not in (None, 0)
    # Sampled over a while, it is never RUNNING, and always says why.
    for _ in range(8):
        [process] = [p for p in driver.status(app) if p.deployment_key == D2]
        assert process.state != "RUNNING", process
        assert process.description, process
        time.sleep(0.15)
    driver.provider.stop(app, D2)


def test_drift_behind_the_providers_back_is_repaired(driver):
    app = driver.app_key
    spec = driver.spec(app, D1, artefact=driver.artefact(version="v1"))
    assert driver.ship(spec).ok
    assert driver.provider.ensure_running(spec) == []  # nothing to repair yet
    driver.tamper(spec)
    driver.wait(lambda: "web" not in driver.running(app, D1))
    actions = driver.provider.ensure_running(spec)
    assert actions, "ensure_running found nothing to repair"
    ok = driver.provider.health(spec, path="/healthz", passes=1, timeout_s=8, tick=lambda: None)
    assert ok.ok, ok.detail
    driver.wait(lambda: driver.answer(spec) == (200, "v1"))
    assert driver.provider.routed_to(app) == D1
    assert driver.provider.ensure_running(spec) == []  # repaired for good


def test_remove_app_leaves_nothing_of_it(driver, tmp_path):
    app = "de" * 16
    if hasattr(driver, "build"):  # local: an app of its own, built for real
        artefact = driver.build(app, tmp_path / "repo", "v1")
    else:
        artefact = driver.artefact(version="v1")
    spec = driver.spec(app, D1, artefact=artefact)
    assert driver.ship(spec).ok
    assert driver.release(spec, "python migrate.py") == 0
    assert driver.leftovers(app)
    driver.provider.remove_app(app)
    driver.provider.sync_routes([])
    assert driver.leftovers(app) == []
    assert driver.status(app) == []
    assert driver.provider.routed_to(app) is None
    assert driver.answer(spec)[0] == 404  # the host table no longer names it
