"""Git URLs cannot reach our own network (the SSRF guard, apps.core.net): refused when saved
(400 on git_url) and again when fetched, with git pinned to the address that was checked and no
redirects followed. Only https and ssh by default (DEPLOY_GIT_ALLOWED_SCHEMES). How URLs are
shown: credentials and query values masked, IPv6 brackets kept, never longer than the column."""

from __future__ import annotations

import functools
import http.server
import socket
import threading

import pytest

from apps.deploy.runtime.base import RuntimeProblem
from apps.deploy.runtime.git import display_url, fetch, parse_git_url, pinned

from .conftest import GitRepo

ALL_SCHEMES = ["https", "ssh", "http", "git"]
PRIVATE = [
    "http://127.0.0.1:6379/x.git",
    "http://169.254.169.254/latest/",
    "git://10.0.0.1/x",
    "git@127.0.0.1:x.git",
    "ssh://localhost/srv/repo.git",
    "https://localhost/x",
    "https://repo.localhost/x",
    "http://0/x",
    "https://[::1]/x.git",
    "https://[::ffff:127.0.0.1]/x.git",
    "https://u:p@10.1.2.3:8443/x.git",
    "https://internal.example/x.git",  # a name that resolves to 10.9.8.7 (below)
]


@pytest.fixture
def fake_dns(monkeypatch):
    """Names under .example resolve as this dict says (in Python only: git and curl use the
    system resolver, which knows none of them)."""
    names = {"internal.example": "10.9.8.7", "public.example": "93.184.216.34"}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def alice(world, client_for):
    return client_for(world["alice"], world["tenant_a"])


def _problem_field(response) -> str:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()["errors"][0]["field"]


# --- When saved --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", PRIVATE)
def test_a_git_url_pointing_at_our_network_is_refused_when_saved(alice, settings, fake_dns, url):
    settings.DEPLOY_GIT_ALLOWED_SCHEMES = ALL_SCHEMES
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = alice.post("/api/v1/apps", {"name": "probe", "git_url": url}, format="json")
    assert _problem_field(response) == "git_url"
    assert "private, loopback or link-local" in response.json()["detail"]

    created = alice.post("/api/v1/apps", {"name": "fine"}, format="json")
    assert created.status_code == 201
    patched = alice.patch(f"/api/v1/apps/{created.json()['id']}", {"git_url": url}, format="json")
    assert _problem_field(patched) == "git_url"


@pytest.mark.django_db
def test_the_operator_may_allow_a_network_for_git(alice, settings, fake_dns):
    settings.DEPLOY_GIT_ALLOWED_SCHEMES = ALL_SCHEMES
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.0.0.0/8"]
    for number, url in enumerate(["https://localhost/x.git", "https://internal.example/x.git"]):
        response = alice.post(
            "/api/v1/apps", {"name": f"lan-{number}", "git_url": url}, format="json"
        )
        assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_only_https_and_ssh_by_default(alice, settings, fake_dns):
    for url in ("http://public.example/x.git", "git://public.example/x"):
        response = alice.post("/api/v1/apps", {"name": "plain", "git_url": url}, format="json")
        assert _problem_field(response) == "git_url"
        assert "not allowed here" in response.json()["detail"]
    for number, url in enumerate(
        [
            "https://public.example/x.git",
            "git@public.example:acme/x.git",
            "ssh://git@public.example/acme/x.git",
            "https://not-in-dns.invalid/x.git",  # checked again, and pinned, when fetched
        ]
    ):
        response = alice.post(
            "/api/v1/apps", {"name": f"ok-{number}", "git_url": url}, format="json"
        )
        assert response.status_code == 201, response.content


# --- When fetched ------------------------------------------------------------------------


class _Server:
    """Serves a directory over plain HTTP on 127.0.0.1 (git's dumb protocol) and records the
    paths asked for; /moved/… redirects to /…"""

    def __init__(self, directory) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                if self.path.startswith("/moved/"):
                    self.send_response(301)
                    self.send_header("Location", self.path[len("/moved") :])
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def served(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo._git("update-server-info")  # what the dumb protocol reads
    with _Server(tmp_path) as server:
        yield repo, server


def _fetch(url: str, ref: str, dest, lines: list[str] | None = None) -> str:
    source = parse_git_url(url, allow_local=False, schemes=ALL_SCHEMES)
    return fetch(
        source,
        ref,
        str(dest),
        log=(lines if lines is not None else []).append,
        tick=lambda: None,
        timeout_s=60,
        allow_local=False,
    )


def test_git_connects_to_the_address_that_was_checked(served, settings, fake_dns, tmp_path):
    """git.pinned.test resolves (in Python) to 127.0.0.1, but the system resolver git uses
    has never heard of it: the fetch works only because git is told which address to use."""
    repo, server = served
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    fake_dns["git.pinned.test"] = "127.0.0.1"
    sha = repo._git("rev-parse", "HEAD")
    url = f"http://git.pinned.test:{server.port}/repo/.git"
    assert _fetch(url, sha, tmp_path / "out") == sha
    assert (tmp_path / "out" / "Procfile").exists()
    assert server.requests


@pytest.mark.parametrize(
    "host, address", [("localhost", None), ("internal.example", None), ("rebound.test", "::1")]
)
def test_a_fetch_is_refused_before_git_connects(
    served, settings, fake_dns, tmp_path, host, address
):
    """Saved while it was allowed (or while it resolved elsewhere): checked again when fetched."""
    _repo, server = served
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    if address:
        fake_dns[host] = address
    lines: list[str] = []
    with pytest.raises(RuntimeProblem, match="private, loopback or link-local"):
        _fetch(f"http://{host}:{server.port}/repo/.git", "main", tmp_path / "out", lines)
    assert server.requests == []
    assert not any("Fetching" in line for line in lines)


def test_redirects_are_not_followed(served, settings, tmp_path):
    repo, server = served
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sha = repo._git("rev-parse", "HEAD")
    with pytest.raises(RuntimeProblem, match="Could not fetch"):
        _fetch(f"http://127.0.0.1:{server.port}/moved/repo/.git", sha, tmp_path / "out")
    assert all(path.startswith("/moved/") for path in server.requests), server.requests


def test_how_each_protocol_is_pinned():
    def pin(url: str, address: str):
        return pinned(parse_git_url(url, allow_local=False, schemes=ALL_SCHEMES), address)

    url, config, ssh = pin("https://git.example.com/x.git", "2001:db8::7")
    assert "http.curloptResolve=git.example.com:443:[2001:db8::7]" in config
    assert "http.followRedirects=false" in config
    assert (url, ssh) == ("https://git.example.com/x.git", "")
    url, config, ssh = pin("http://git.example.com:8080/x.git", "93.184.216.34")
    assert "http.curloptResolve=git.example.com:8080:93.184.216.34" in config
    assert pin("git@git.example.com:x.git", "93.184.216.34")[2] == " -o HostName=93.184.216.34"
    assert pin("ssh://git@git.example.com:2222/x", "2001:db8::7")[2] == " -o HostName=2001:db8::7"
    assert pin("git://git.example.com/x", "2001:db8::7")[0] == "git://[2001:db8::7]/x"
    url, config, ssh = pin("https://[2001:db8::7]/x.git", "2001:db8::7")  # nothing to resolve
    assert url == "https://[2001:db8::7]/x.git" and ssh == ""
    assert not any("curloptResolve" in option for option in config)


# --- How URLs are shown ------------------------------------------------------------------


def test_ipv6_hosts_keep_their_brackets():
    source = parse_git_url("https://u:p@[2001:db8::1]:8443/x.git", allow_local=False)
    assert source.url == "https://[2001:db8::1]:8443/x.git"
    assert (source.host, source.port) == ("2001:db8::1", 8443)
    assert display_url("https://u:p@[2001:db8::1]/x.git") == "https://***@[2001:db8::1]/x.git"
    assert display_url("ssh://git@[2001:db8::1]/x?k=v") == "ssh://git@[2001:db8::1]/x?k=***"


def test_query_values_are_masked_and_redacted(settings, fake_dns, tmp_path):
    url = "https://git.example.com/x.git?private_token=glpat-s3cr3t&ref=main&lone"
    assert display_url(url) == "https://git.example.com/x.git?private_token=***&ref=***&***"
    source = parse_git_url(url, allow_local=False)
    assert source.url == url  # git needs it
    assert "glpat-s3cr3t" in source.secrets  # so the pipeline redacts git's own messages
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    lines: list[str] = []
    with pytest.raises(RuntimeProblem) as refused:
        _fetch(url.replace("git.example.com", "internal.example"), "main", tmp_path / "o", lines)
    assert "glpat-s3cr3t" not in refused.value.message
    assert "private_token=***" in refused.value.message


@pytest.mark.django_db
def test_query_tokens_are_not_shown_by_the_api(alice):
    url = "https://git.example.com/x.git?private_token=glpat-s3cr3t"
    body = alice.post("/api/v1/apps", {"name": "tok", "git_url": url}, format="json").json()
    assert body["git_url"] == "https://git.example.com/x.git?private_token=***"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "head, tail",
    [("https://u@git.example.com/", ".git"), ("https://git.example.com/", ".git?t=1&u=2")],
)
def test_a_git_url_whose_display_would_not_fit_is_a_400(alice, head, tail):
    """500 characters pass the serializer, but `u@` is shown as `***@` and `t=1` as `t=***`."""
    url = head + "a" * (500 - len(head) - len(tail)) + tail
    assert len(url) == 500
    response = alice.post("/api/v1/apps", {"name": "long", "git_url": url}, format="json")
    assert _problem_field(response) == "git_url"
    assert "too long" in response.json()["detail"]


@pytest.mark.django_db
def test_a_git_url_that_is_not_a_host_is_a_400(alice, settings):
    settings.DEPLOY_GIT_ALLOWED_SCHEMES = ALL_SCHEMES
    for url in (
        "https://[::1/x",
        "https://h.example:99999/x",
        f"https://{'a' * 70}.example/x",
        "https://bücher.example/x.git",
        "https://127.0.0.%31/x.git",
        "https://[fe80::1%25eth0]/x.git",
    ):
        response = alice.post("/api/v1/apps", {"name": "bad", "git_url": url}, format="json")
        assert _problem_field(response) == "git_url"
