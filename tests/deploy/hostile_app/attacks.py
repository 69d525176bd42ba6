"""A hostile tenant's code: everything a stranger's app might try against its host.

Run three ways, each in the sandbox: imported by buildhook/setup.py (pip runs it during the
build), as the Procfile's release command (`python attacks.py release`), and by server.py
(GET /attacks). Each attack reports "blocked: …" or "REACHED: …"; the tests expect only the
first. TARGETS.json (committed into the repository by the test) names what to aim at."""

import json
import os
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def targets() -> dict:
    path = HERE / "TARGETS.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _tcp(host: str, port: int) -> str:
    sock = socket.socket()
    sock.settimeout(1.5)
    try:
        sock.connect((host, port))
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    finally:
        sock.close()
    return f"REACHED: connected to {host}:{port}"


def _unix(path: str) -> str:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(1.5)
    try:
        sock.connect(path)
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    finally:
        sock.close()
    return f"REACHED: connected to {path}"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(200)
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    return f"REACHED: read {len(data)} bytes of {path}"


def _list(path: str, expect: str = "") -> str:
    """List a directory; reaching it means seeing `expect` in it (a sandbox shows the parents
    of its own mounts as empty directories of its private filesystem)."""
    try:
        names = os.listdir(path)
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    if expect and expect not in names:
        return f"blocked: only the sandbox's own mount points: {sorted(names)[:8]}"
    return f"REACHED: listed {path}: {sorted(names)[:8]}"


def _write(path: str) -> str:
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    return f"REACHED: wrote {path}"


def scan_environ(secret: str) -> str:
    """Every /proc/*/environ this process can read: does any hold the other app's secret?"""
    seen = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            data = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        seen += 1
        if secret and secret.encode() in data:
            return f"REACHED: the secret is in /proc/{entry}/environ"
    return f"blocked: the secret is in none of the {seen} environments visible"


def fork_bomb(limit: int = 400) -> str:
    children = []
    error = ""
    try:
        for _ in range(limit):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        error = f"{type(exc).__name__} {exc}"
    finally:
        for pid in children:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass
    if error:
        return f"blocked: after {len(children)} processes: {error}"
    return f"REACHED: started {len(children)} processes"


def fill_disk(directory: str, cap_mb: int = 400) -> str:
    path = Path(directory) / "fill.bin"
    written = 0
    block = b"\1" * (1024 * 1024)
    try:
        with open(path, "wb") as handle:
            for _ in range(cap_mb):
                handle.write(block)
                handle.flush()
                written += 1
            os.fsync(handle.fileno())
    except OSError as exc:
        return f"blocked: after {written} MB: {type(exc).__name__} {exc}"
    finally:
        path.unlink(missing_ok=True)
    return f"REACHED: wrote {written} MB"


def become_root() -> str:
    try:
        os.setuid(0)
    except OSError as exc:
        return f"blocked: {type(exc).__name__} {exc}"
    return "REACHED: setuid(0)"


def run_all(heavy: bool = True, writes: bool = True) -> dict:
    t = targets()
    leaked = sorted(
        name for name in os.environ
        if name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CELERY_BROKER_URL")
        or name.startswith(("DJANGO_", "STRIPE_", "FIELD_ENCRYPTION"))
    )  # fmt: skip
    out = {
        "uid": f"blocked: uid {os.getuid()}" if os.getuid() != 0 else "REACHED: uid 0",
        "quayside_env": f"REACHED: {leaked}" if leaked else "blocked: none of Quayside's env",
        "become_root": become_root(),
        "tcp_postgres": _tcp("127.0.0.1", 5432),
        "tcp_redis": _tcp("127.0.0.1", 6379),
        "tcp_gateway_postgres": _tcp("10.0.2.2", 5432),
        "tcp_caddy": _tcp("127.0.0.1", int(t.get("caddy_port", 80))),
    }
    for address in t.get("host_addresses", []):
        out[f"tcp_host_{address}"] = _tcp(address, int(t.get("host_listener_port", 22)))
    for name in ("other_socket", "other_stable_socket", "supervisor_socket", "caddy_admin"):
        if t.get(name):
            out[name] = _unix(t[name])
    for name in ("checkout_file", "env_file", "other_app_file", "caddy_key_dir"):
        if t.get(name):
            out[f"read_{name}"] = _read(t[name]) if name != "caddy_key_dir" else _list(t[name])
    expected = {"runtime_dir": "supervisor", "other_app_dir": "builds", "checkout_dir": "apps"}
    for name, expect in expected.items():
        if t.get(name):
            out[f"list_{name}"] = _list(t[name], expect)
    if t.get("other_pid"):
        out["other_environ"] = _read(f"/proc/{t['other_pid']}/environ")
    out["scan_environ"] = scan_environ(t.get("other_secret", ""))
    for path in ("/usr/pwned", "/etc/pwned", "/pwned", "/var/tmp/pwned") if writes else ():  # noqa: S108
        out[f"write_{path}"] = _write(path)
    if t.get("runtime_dir") and writes:
        out["write_runtime_dir"] = _write(os.path.join(t["runtime_dir"], "sockets", "pwned"))
    if heavy:
        out["fork_bomb"] = fork_bomb()
        out["fill_disk"] = fill_disk(os.environ["HOME"])
    return out


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "manual"
    result = run_all()
    Path(os.environ["HOME"], f"attacks-{stage}.json").write_text(json.dumps(result, indent=1))
    print(f"attacks ({stage}) done")
