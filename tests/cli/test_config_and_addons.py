"""`quay export`, `quay import` (dry run, then for real), `quay incidents ack` and `quay addons`
against the live server, as people signed in with device-grant tokens."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from apps.deploy.models import App
from apps.monitoring.models import Incident
from tests.monitoring.factories import create, seed_history

from .conftest import make_person, oauth_token


def _runner(quay, person):
    token = oauth_token(person.user)

    def run(*args, ok: bool = True, **kwargs):
        done = quay(*args, token=token, tenant=person.tenant.slug, **kwargs)
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    return run


def test_export_then_import_into_another_tenant(quay, tmp_path):
    source, target = make_person(), make_person(with_app=False)
    exported = _runner(quay, source)
    imported = _runner(quay, target)
    path = tmp_path / "config.json"
    exported("export", "--output", str(path))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    document = json.loads(path.read_text())
    assert [app["name"] for app in document["apps"]] == ["shop"]

    plan = imported("import", str(path), "--dry-run").stdout
    assert "apps" in plan and "shop" in plan and "create" in plan and "Would apply" in plan
    with tenant_context(target.tenant):
        assert not App.objects.exists()  # a dry run changes nothing

    # Without values the secrets stay behind (the masked git URL, the env var's value); with
    # them, sealed to a passphrase, the other tenant ends up with the same configuration.
    secret = {"QUAY_EXPORT_PASSPHRASE": "a long passphrase for the test"}
    sealed = tmp_path / "sealed.json"
    exported("export", "--values", "--output", str(sealed), env=secret)
    assert json.loads(sealed.read_text())["secrets"]["ciphertext"]
    wrong = imported("import", str(sealed), "--passphrase", ok=False,
                     env={"QUAY_EXPORT_PASSPHRASE": "not the passphrase at all"})  # fmt: skip
    assert wrong.returncode != 0 and "400" in wrong.stderr
    done = imported("import", str(sealed), "--passphrase", env=secret).stdout
    assert "Applied: 1 to create" in done
    with tenant_context(target.tenant):
        assert list(App.objects.values_list("name", flat=True)) == ["shop"]
    again = json.loads(imported("export").stdout)
    assert again["apps"] == document["apps"]
    assert "0 to create, 0 to update" in imported("import", str(path), "--dry-run").stdout

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = imported("import", str(broken), ok=False)
    assert refused.returncode == 2 and "is not JSON" in refused.stderr


def test_incidents_ack_and_addons_without_any(quay):
    person = make_person()
    run = _runner(quay, person)
    monitor = create(person.tenant, kind="http", name="Shop", url="https://shop.example.com/")
    seed_history(person.tenant, monitor, days=2)
    with tenant_context(person.tenant):
        incident = Incident.objects.get(monitor=monitor, status="open")
    assert "acknowledged" in run("incidents", "ack", str(incident.pk)).stdout
    with tenant_context(person.tenant):
        incident.refresh_from_db()
    assert incident.acknowledged_by_id == person.user.pk
    again = run("incidents", "ack", str(incident.pk), ok=False)
    assert again.returncode != 0 and "409" in again.stderr

    assert "(none)" in run("addons", "list", "shop").stdout
    missing = run("addons", "psql", "shop", ok=False)
    assert missing.returncode == 4 and "has no postgres add-on" in missing.stderr
