"""Issue 11, defects 7 and 8: what `make run` starts, read from Procfile.local with the variables
scripts/run.sh exports (`scripts/runlocal.py env`), as honcho runs it (`sh -c`).

- Defect 8: the web server listens on loopback unless BIND says otherwise, and says so; anything
  else is warned about (DEBUG is on and the demo passwords are public).
- Defect 7: quiet by default (celery workers and beat at warning without their banners, no
  gunicorn access log), every line with VERBOSE=1; the URLs and the demo logins come last, once
  the web server answers."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import runlocal  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))

PROCESSES = parse_procfile((ROOT / "Procfile.local").read_text()).processes
# Apps over plain HTTP here; test_make_run_https.py has the HTTPS URLs and checks.
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": "8000", "DEPLOY_TLS": "off"}


def argv_of(process: str, environ: Mapping[str, str]) -> list[str]:
    """The argv that `process` of Procfile.local starts with, its program replaced by printf."""
    program, _, rest = PROCESSES[process].partition(" ")
    script = f"printf '%s\\n' {program} {rest}"
    result = subprocess.run(
        ["/bin/sh", "-c", script], env=dict(environ), capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def make_run_env(**variables: str) -> dict[str, str]:
    """The environment Procfile.local's processes get from `make run`."""
    exports, _warnings = runlocal.run_env({**BASE_ENV, **variables})
    return {**BASE_ENV, **variables, **exports}


def eval_in_bash(variables: Mapping[str, str], *names: str) -> list[str]:
    """What run.sh does: eval "$(scripts/runlocal.py env)", then the values of `names`."""
    environ = {k: v for k, v in os.environ.items() if k not in ("BIND", "HOST", "VERBOSE")}
    environ.pop("LOG_LEVEL", None)
    script = 'eval "$("$0" scripts/runlocal.py env)"; ' + "; ".join(
        f'printf "%s\\n" "${name}"' for name in names
    )
    result = subprocess.run(
        ["/bin/bash", "-c", script, sys.executable],
        cwd=ROOT,
        env={**environ, **variables},
        capture_output=True,
        text=True,
        check=True,
    )
    return [*result.stdout.splitlines(), result.stderr]


# --- defect 8: loopback unless told otherwise --------------------------------------------------


def test_the_web_server_listens_on_loopback_by_default():
    assert option(argv_of("web", make_run_env()), "--bind") == "127.0.0.1:8000"
    # Procfile.local on its own (honcho without run.sh) too.
    assert option(argv_of("web", BASE_ENV), "--bind") == "127.0.0.1:8000"


def test_run_sh_resolves_loopback_and_says_nothing_alarming():
    bind, web_bind, stderr = eval_in_bash({"PORT": "8123"}, "BIND", "QS_WEB_BIND")

    assert (bind, web_bind) == ("127.0.0.1", "127.0.0.1:8123")
    assert "WARNING" not in stderr


@pytest.mark.parametrize(
    ("variables", "bind"),
    [
        ({"BIND": "0.0.0.0"}, "0.0.0.0:8000"),  # noqa: S104
        ({"HOST": "0.0.0.0"}, "0.0.0.0:8000"),  # noqa: S104
        ({"BIND": "::"}, "[::]:8000"),
        ({"BIND": "192.0.2.10", "HOST": "127.0.0.1"}, "192.0.2.10:8000"),
    ],
)
def test_bind_opens_it_with_a_warning(variables, bind):
    exports, warnings = runlocal.run_env({**BASE_ENV, **variables})

    assert option(argv_of("web", {**BASE_ENV, **exports}), "--bind") == bind
    assert len(warnings) == 1
    assert "anyone who can reach that port can sign in as the operator" in warnings[0]
    assert bind in runlocal.banner({**exports, "DEPLOY_HTTP_LISTEN": "127.0.0.1:8080"}, True)
    assert "WARNING" in runlocal.banner(exports, True)


def test_run_sh_prints_the_warning():
    *_values, stderr = eval_in_bash({"BIND": "0.0.0.0"}, "QS_WEB_BIND")  # noqa: S104

    assert "WARNING: the web server listens on 0.0.0.0:8000" in stderr


@pytest.mark.parametrize("variables", [{"BIND": "::1"}, {"BIND": "localhost"}, {"HOST": "vm"}])
def test_loopback_names_and_a_shells_host_name_stay_quiet(variables):
    """tcsh and zsh set HOST to the machine's name: that is no request to open the server."""
    exports, warnings = runlocal.run_env({**BASE_ENV, **variables})

    assert warnings == []
    assert runlocal.is_loopback(exports["BIND"])
    assert "this machine only" in runlocal.banner(exports, True)


def test_apps_served_to_other_machines_are_mentioned():
    _exports, warnings = runlocal.run_env({**BASE_ENV, "DEPLOY_HTTP_LISTEN": "0.0.0.0:8080"})

    assert warnings == ["Note: deployed apps are served to other machines too "
                        "(DEPLOY_HTTP_LISTEN=0.0.0.0:8080)."]  # fmt: skip


# --- defect 7: quiet unless asked -------------------------------------------------------------


@pytest.mark.parametrize("environ", [None, {}], ids=["make run", "Procfile.local alone"])
def test_quiet_by_default(environ):
    environ = make_run_env() if environ is None else BASE_ENV
    for process in ("worker", "checks", "beat"):
        argv = argv_of(process, environ)
        assert option(argv, "-l") == "warning", process
        assert "-q" in argv, process  # no start-up banner
    web = argv_of("web", environ)
    assert "--access-logfile" not in web
    assert option(web, "--log-level") == "warning"
    if environ is not BASE_ENV:
        assert environ["LOG_LEVEL"] == "WARNING"  # Django's own loggers


@pytest.mark.parametrize("variables", [{"VERBOSE": "1"}, {"LOG_LEVEL": "info"}])
def test_verbose_on_request(variables):
    environ = make_run_env(**variables)

    for process in ("worker", "checks", "beat"):
        argv = argv_of(process, environ)
        assert option(argv, "-l") == "info", process
        assert "-q" not in argv
    assert environ["LOG_LEVEL"] == "INFO"
    web = argv_of("web", environ)
    assert option(web, "--log-level") == "info"
    assert ("--access-logfile" in web) == ("VERBOSE" in variables)


def test_a_wrong_log_level_is_refused():
    with pytest.raises(SystemExit, match="LOG_LEVEL=LOUD"):
        runlocal.run_env({**BASE_ENV, "LOG_LEVEL": "loud"})


def test_the_banner_has_the_urls_and_the_demo_logins():
    logins = "  Operator: admin@quayside.localhost / quayside-admin\n  Demo tenant owner: o / p"
    exports = make_run_env(PORT="8100", DEPLOY_HTTP_LISTEN="127.0.0.1:8180")

    text = runlocal.banner({**exports, "QS_DEMO_LOGINS": logins}, demo_app_live=True)

    assert "http://localhost:8100/admin/" in text
    assert "http://demo.localhost:8100/console/" in text
    assert "http://hello-demo.apps.localhost:8180/" in text
    assert "Operator: admin@quayside.localhost / quayside-admin" in text
    assert "Demo tenant owner: o / p" in text
    assert "make run VERBOSE=1" in text
    assert "still deploying" in runlocal.banner(exports, demo_app_live=False)


def test_run_sh_extracts_the_demo_logins_from_seed_demo():
    """run.sh greps seed_demo's output for the logins: keep the two in step."""
    from apps.tenants.management.commands import seed_demo

    source = Path(seed_demo.__file__).read_text()
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert "grep -E '^ +(Operator|Demo tenant owner):'" in run_sh
    assert '"\\n  Operator: ' in source
    assert '"\\n  Demo tenant owner: ' in source


# --- the `ready` process: the URLs come last, once the web server answers ---------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def servers() -> Iterator[tuple[int, int, list]]:
    started: list[http.server.ThreadingHTTPServer] = []
    yield free_port(), free_port(), started
    for server in started:
        server.shutdown()
        server.server_close()


def serve(port: int, started: list) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started.append(server)


def available(fd: int) -> str:
    """What a process has written so far (a non-blocking read)."""
    try:
        return os.read(fd, 65536).decode()
    except BlockingIOError:
        return ""


def test_ready_prints_the_urls_only_once_the_web_server_answers(servers):
    web_port, caddy_port, started = servers
    exports = make_run_env(PORT=str(web_port), DEPLOY_HTTP_LISTEN=f"127.0.0.1:{caddy_port}")
    environ = {**exports, "PORT": str(web_port + 500), "QS_DEMO_LOGINS": "  Operator: a / b"}
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "scripts" / "runlocal.py"), "ready"],
        env={**os.environ, **environ},
        stdout=subprocess.PIPE,
    )
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    try:
        time.sleep(2.5)
        assert not available(fd), "printed before the web server answered"
        serve(caddy_port, started)  # the demo app first: still nothing without the web server
        time.sleep(1.5)
        assert not available(fd)
        serve(web_port, started)
        output, deadline = "", time.monotonic() + 15
        while "shows every request and task." not in output and time.monotonic() < deadline:
            output += available(fd)
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()

    assert f"Operator admin  http://localhost:{web_port}/admin/" in output
    assert f"hello-demo.apps.localhost:{caddy_port}/" in output
    assert "still deploying" not in output
    assert "Operator: a / b" in output
    assert output.rstrip().endswith("shows every request and task.")
