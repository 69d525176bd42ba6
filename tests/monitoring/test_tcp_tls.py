"""TCP and TLS certificate expiry checks against real local servers; the TLS server's
self-signed certificate is made here, valid for five days."""

import datetime as dt
import ipaddress
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.monitoring.factories import check_once, create


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=5))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(1)
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def test_tcp_open_port_is_up_and_closed_port_down(world, http_target):
    tenant = world["tenant_a"]
    port = int(http_target.url.rsplit(":", 1)[1])
    up = create(tenant, kind="tcp", name="open", host="127.0.0.1", port=port)
    down = create(tenant, kind="tcp", name="closed", host="127.0.0.1", port=9)
    assert check_once(tenant, up).status == "up"
    assert check_once(tenant, down).status == "down"


def test_tls_certificate_expiring_within_the_threshold_is_down(world, tls_server):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="tls", name="cert", host="127.0.0.1", port=tls_server,
                     tls_expiry_days=14, verify_tls=False)  # fmt: skip
    monitor = check_once(tenant, monitor)
    assert monitor.status == "down"
    assert "expires in 4." in monitor.last_error or "expires in 5." in monitor.last_error


def test_tls_certificate_beyond_the_threshold_is_up(world, tls_server):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="tls", name="cert", host="127.0.0.1", port=tls_server,
                     tls_expiry_days=3, verify_tls=False)  # fmt: skip
    assert check_once(tenant, monitor).status == "up"


def test_tls_untrusted_certificate_is_down_when_verifying(world, tls_server):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="tls", name="cert", host="127.0.0.1", port=tls_server,
                     tls_expiry_days=3)  # fmt: skip
    monitor = check_once(tenant, monitor)
    assert monitor.status == "down"
    assert "not valid" in monitor.last_error
