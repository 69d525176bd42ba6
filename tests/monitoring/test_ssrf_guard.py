"""Outbound checks refuse private, loopback and link-local targets (resolved addresses, not
just names) unless the operator allows their network."""

import pytest

from apps.core import net
from tests.monitoring.factories import check_once, create


@pytest.mark.parametrize(
    "ip",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0",  # noqa: S104
     "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1",
     # IPv6 forms that embed a private IPv4 (NAT64, 6to4, compatible, translated), site-local
     "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::7f00:1", "::ffff:0:7f00:1", "fec0::1",
     # RFC 8215 local-use NAT64 (Python 3.11 calls it global): refused whatever it embeds
     "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::808:808", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"],
)  # fmt: skip
def test_private_addresses_are_refused(settings, ip):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert not net.ip_allowed(ip)
    with pytest.raises(net.BlockedTarget):
        net.check_ip(ip)


@pytest.mark.parametrize(
    "ip", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(settings, ip):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert net.ip_allowed(ip)


def test_the_local_use_nat64_prefix_is_refused_unless_allowed_itself(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["0.0.0.0/0"]  # IPv4 everywhere: not this IPv6 range
    assert not net.ip_allowed("64:ff9b:1::a9fe:a9fe")
    assert not net.ip_allowed("64:ff9b:1:a9fe:a9:fe00::")  # the /48 layout of RFC 6052
    settings.OUTBOUND_ALLOWED_NETWORKS = ["64:ff9b:1::/48"]
    assert net.ip_allowed("64:ff9b:1::a9fe:a9fe")


def test_operator_can_allow_a_network(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert net.ip_allowed("10.9.9.9")
    assert not net.ip_allowed("192.168.0.1")


def test_a_name_is_judged_by_the_address_it_resolves_to(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(net.BlockedTarget, match="localhost"):
        net.resolve("localhost", 80)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:{port}/ok", "http://localhost:{port}/ok",
            "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/ok"],
)  # fmt: skip
def test_http_checks_to_private_targets_are_refused(world, http_target, settings, url):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    tenant = world["tenant_a"]
    port = http_target.url.rsplit(":", 1)[1]
    monitor = check_once(tenant, create(tenant, kind="http", name="x", url=url.format(port=port)))
    assert monitor.status == "down"
    assert monitor.last_error.startswith("Refused")


def test_tcp_checks_to_private_names_are_refused(world, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="tcp", name="x", host="localhost", port=9)
    assert check_once(tenant, monitor).last_error.startswith("Refused")


def test_redirects_to_private_targets_are_refused(world, http_target, settings):
    """The guard sits in the connection layer, so a redirect hop is checked too."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="x", url=http_target.url + "/redirect-private")
    monitor = check_once(tenant, monitor)
    assert monitor.status == "down"
    assert "10.0.0.1" in monitor.last_error and monitor.last_error.startswith("Refused")


def test_loopback_allowed_when_the_operator_allows_it(world, http_target):
    tenant = world["tenant_a"]  # conftest allows 127.0.0.0/8
    monitor = check_once(tenant, create(tenant, kind="http", name="x",
                                        url=http_target.url + "/ok"))  # fmt: skip
    assert monitor.status == "up"
