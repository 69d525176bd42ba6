"""Custom domains: added pending with a TXT record to publish, verified by looking that record up
(here on a DNS server of the test's own, which DEPLOY_DNS_NAMESERVERS points at), then routed."""

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

pytestmark = pytest.mark.django_db


class TinyDNS(threading.Thread):
    """Answers TXT questions from `records` ({name: [value, ...]}); NXDOMAIN otherwise."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.records: dict[str, list[str]] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            values = self.records.get(question.name.to_text().rstrip("."))
            if values and question.rdtype == dns.rdatatype.TXT:
                quoted = [f'"{v}"' for v in values]
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *quoted))
            elif not values:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self.stopped.set()
        self.join(timeout=2)
        self.sock.close()


@pytest.fixture
def dns_server(settings):
    server = TinyDNS()
    server.start()
    settings.DEPLOY_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    settings.DEPLOY_DNS_TIMEOUT_S = 2
    yield server
    server.close()


def test_add_verify_and_remove_a_domain(world, client_for, dns_server, settings):
    alice = client_for(world["alice"], world["tenant_a"])
    app = alice.post("/api/v1/apps", {"name": "site"}, format="json").json()
    base = f"/api/v1/apps/{app['id']}/domains"

    added = alice.post(base, {"hostname": "WWW.Example.com."}, format="json")
    assert added.status_code == 201, added.json()
    domain = added.json()
    assert domain["hostname"] == "www.example.com" and domain["status"] == "pending"
    record = domain["verification"]
    assert record["type"] == "TXT" and record["name"] == "_quayside.www.example.com"

    missing = alice.post(f"{base}/{domain['id']}/verify").json()
    assert missing["status"] == "pending" and "does not exist" in missing["last_error"]

    dns_server.records[record["name"]] = ["something-else"]
    wrong = alice.post(f"{base}/{domain['id']}/verify").json()
    assert wrong["status"] == "pending" and "but not" in wrong["last_error"]

    dns_server.records[record["name"]] = ["something-else", record["value"]]
    verified = alice.post(f"{base}/{domain['id']}/verify").json()
    assert verified["status"] == "verified" and verified["verified_at"]
    assert verified["last_error"] == ""

    listed = alice.get(base).json()["results"]
    assert [d["hostname"] for d in listed] == ["www.example.com"]
    assert alice.delete(f"{base}/{domain['id']}").status_code == 204
    assert alice.get(base).json()["results"] == []


def test_domains_are_unique_and_not_ours(world, client_for, settings):
    alice = client_for(world["alice"], world["tenant_a"])
    a = alice.post("/api/v1/apps", {"name": "one"}, format="json").json()
    a2 = alice.post("/api/v1/apps", {"name": "one-more"}, format="json").json()
    ok = alice.post(f"/api/v1/apps/{a['id']}/domains", {"hostname": "shop.example.com"})
    assert ok.status_code == 201
    taken = alice.post(f"/api/v1/apps/{a2['id']}/domains", {"hostname": "shop.example.com"})
    assert taken.status_code == 400 and taken.json()["errors"][0]["code"] == "taken"
    for hostname in (f"x.{settings.APPS_DOMAIN}", "not a host", "localhost"):
        response = alice.post(f"/api/v1/apps/{a['id']}/domains", {"hostname": hostname})
        assert response.status_code == 400, hostname


def test_a_pending_domain_does_not_squat_the_first_to_verify_gets_it(world, client_for, dns_server):
    """Alice's pending claim does not stop Bob's tenant from claiming the hostname; Bob verifies
    first, so Bob gets it, Alice's claim is dropped (her owners are told) and nobody else may add
    it again."""
    from apps.core.models import InboxMessage

    alice = client_for(world["alice"], world["tenant_a"])
    bob = client_for(world["bob"], world["tenant_b"])
    a = alice.post("/api/v1/apps", {"name": "one"}, format="json").json()
    b = bob.post("/api/v1/apps", {"name": "two"}, format="json").json()
    squat = alice.post(f"/api/v1/apps/{a['id']}/domains", {"hostname": "shop.example.com"})
    assert squat.status_code == 201
    claim = bob.post(f"/api/v1/apps/{b['id']}/domains", {"hostname": "shop.example.com"})
    assert claim.status_code == 201, claim.json()
    claim = claim.json()

    record = claim["verification"]
    dns_server.records[record["name"]] = [record["value"]]
    verified = bob.post(f"/api/v1/apps/{b['id']}/domains/{claim['id']}/verify").json()
    assert verified["status"] == "verified", verified

    assert alice.get(f"/api/v1/apps/{a['id']}/domains").json()["results"] == []
    told = InboxMessage.objects.filter(user=world["alice"], kind="domain.claim_dropped")
    assert told.count() == 1 and "shop.example.com" in told.get().title
    assert not InboxMessage.objects.filter(user=world["bob"], kind="domain.claim_dropped")
    gone = alice.post(f"/api/v1/apps/{a['id']}/domains/{squat.json()['id']}/verify")
    assert gone.status_code == 404

    again = alice.post(f"/api/v1/apps/{a['id']}/domains", {"hostname": "shop.example.com"})
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "taken"


def test_verifying_a_claim_dropped_meanwhile_is_a_conflict(world, dns_server):
    """Alice's request loaded her pending domain just before Bob's verification dropped it."""
    from django_tenants.utils import tenant_context

    from apps.core.problems import Conflict
    from apps.deploy import services

    claims = {}
    for key in ("tenant_a", "tenant_b"):
        tenant = world[key]
        with tenant_context(tenant):
            app, _secret = services.app_create(tenant=tenant, actor=services.SYSTEM, name="web")
            claims[key] = services.domain_add(
                app=app, tenant=tenant, actor=services.SYSTEM, hostname="race.example.com"
            )
    first = claims["tenant_b"]
    dns_server.records[services.domain_record_name(first)] = [services.domain_record_value(first)]
    with tenant_context(world["tenant_b"]):
        done = services.domain_verify(domain=first, tenant=world["tenant_b"], actor=services.SYSTEM)
        assert done.status == "verified"
    late = claims["tenant_a"]
    dns_server.records[services.domain_record_name(late)] = [services.domain_record_value(late)]
    with tenant_context(world["tenant_a"]), pytest.raises(Conflict):
        services.domain_verify(domain=late, tenant=world["tenant_a"], actor=services.SYSTEM)


@pytest.mark.runtime
def test_a_verified_domain_is_routed_to_the_app(deployer, git_repo, runtime, dns_server):
    from django_tenants.utils import tenant_context

    from apps.deploy import services

    app = deployer.create(git_repo)
    assert deployer.deploy(app).state == "live"
    with tenant_context(deployer.tenant):
        domain = services.domain_add(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, hostname="www.shop.test"
        )
        assert runtime.get("www.shop.test").status_code == 404  # not verified: not routed
        dns_server.records[services.domain_record_name(domain)] = [
            services.domain_record_value(domain)
        ]
        domain = services.domain_verify(
            domain=domain, tenant=deployer.tenant, actor=services.SYSTEM
        )
        assert domain.status == "verified"
        assert services.routes_sync_quietly() is True  # on commit, outside a test transaction
    assert runtime.get("www.shop.test").text == "v1"
    assert runtime.get(deployer.hostname(app)).text == "v1"
