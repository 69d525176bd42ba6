"""What the app sandbox costs: requests/s through Caddy and process start-to-healthy time of the
same app sandboxed (DEPLOY_SANDBOX=on) and unsandboxed (off), on the real local runtime.

    .venv/bin/python bench/sandbox.py [--runs 5] [--seconds 2] [--connections 16] [--starts 5]

Starts what it needs and stops it again: a scratch database (on the server of DATABASE_URL, else
the one scripts/services.py finds or starts), supervisord with Caddy in a temporary runtime
directory on a free port. It drives two LocalProviders directly (one made with the sandbox on,
one with it off; LocalProvider reads DEPLOY_SANDBOX when it is made) through the calls the
deploy pipeline makes: prepare_app, prepare (a real pip build of a tiny WSGI app under gunicorn,
2 sync workers bound to $QUAYSIDE_SOCKET, as bench/deploy.py's), start, stop, route.

- app_setup_ms: the sandboxed app's first prepare_app (uid, its ext4 disk made and mounted, its
  network namespace with nftables, slirp4netns started). Made once per app, before its first
  process; not part of start_overhead_ms.
- start_*_ms: from supervisord's addProcessGroup (the RPC call starts) to the first 200 over the
  process's own socket, polled every 2 ms; median of --starts, sandboxed and unsandboxed
  interleaved, after one start of each that is not counted (it warms the page cache).
  start_overhead_ms = start_sandboxed_ms - start_plain_ms.
- rps_*: wrk (Debian's; installed when missing and running as root) with one thread and
  --connections keep-alive connections at the app's hostname through Caddy, --seconds a run,
  runs interleaved on, off, on, off, ... after one warm-up run of each;
  rps_ratio = median(sandboxed) / median(plain). wrk is written in C; loader_cpu_pct is the
  most of one core it used in any run (it is not what limits the rate when well below 100).
- cpu_us_per_request_*: CPU time of the app's gunicorn processes (the scheduler's count,
  /proc/<pid>/schedstat) over the requests they served: the sandbox's cost per request,
  unlike requests/s hardly moved by what else runs on the machine.

The app's CPU limit is set to the whole machine (--cpu-millicores, default the number of cores
x 1000) so that what is measured is the sandbox's cost, not a plan's CPU share; memory 512 MB,
disk 512 MB. On a busy machine rps_ratio drops: the sandboxed app's cgroup competes for CPU
as one entity of default weight, the unsandboxed app's processes one by one (docs/deploy.md,
"Sandbox performance"); load_1m says how busy the machine was. Ends with
    BENCH sandbox rps_ratio=R start_overhead_ms=M rps_sandboxed=… rps_plain=… …"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _support import free_port, median, scratch_database, services  # noqa: E402

APP = """def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""
FILES = {
    "app.py": APP,
    "requirements.txt": "gunicorn>=23,<28\n",
    "Procfile": "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 2 app:app\n",
}


def ensure_wrk() -> str:
    """wrk's path; installed from Debian when missing and this runs as root."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() == 0 and apt:
        print("installing wrk (apt-get install wrk)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run([apt, "update", "-qq"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench/sandbox.py needs wrk: apt-get install wrk")
    return found


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(binary: str, port: int, host: str, *, seconds: float, connections: int) -> dict:
    """One wrk run; its requests/s, requests, failures and the share of a core wrk used."""
    cpu_before, started = children_cpu_s(), time.perf_counter()
    out = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "-H", f"Host: {host}",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not rps or not total:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    loader_cpu = (children_cpu_s() - cpu_before) / (time.perf_counter() - started)
    return {
        "loader_cpu": loader_cpu,
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "failed": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in errors.groups()) if errors else 0),
    }


def answers_200(path: Path, host: str) -> bool:
    """One GET over the unix socket; True on a 200."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2)
            conn.connect(str(path))
            conn.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            head = conn.recv(64)
    except OSError:
        return False
    return head.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]


def gunicorn_pids(provider, app_key: str, deployment_key: str) -> list[int]:
    """The gunicorn processes (master and workers) of one deployment, seen from the host."""
    group = provider.program(app_key, deployment_key, "web")
    roots = [p["pid"] for p in provider.supervisor.processes() if p["group"] == group and p["pid"]]
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    found, stack = [], list(roots)
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        with contextlib.suppress(OSError):
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def host_uids(pids: list[int]) -> set[int]:
    uids = set()
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                uids.add(int(line.split()[2]))  # effective uid
    return uids


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes have run so far (the scheduler's own count, in ns)."""
    total = 0
    for pid in pids:
        total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total / 1e9


class Mode:
    """One provider (sandbox on or off) and one app built for it."""

    def __init__(self, name: str, provider, limits, host: str) -> None:
        self.name, self.provider, self.limits, self.host = name, provider, limits, host
        self.app_key = uuid.uuid4().hex
        self.artefact = None
        self.starts: list[float] = []
        self.stops: list[float] = []
        self.rps: list[float] = []
        self.failed = 0
        self.requests = 0
        self.loader_cpu: list[float] = []
        self.pids: list[int] = []
        self.cpu_s = 0.0

    def setup(self) -> float:
        """prepare_app and the build; the prepare_app time in ms."""
        started = time.perf_counter()
        self.provider.prepare_app(self.app_key, self.limits)
        setup_ms = (time.perf_counter() - started) * 1000
        build_key = uuid.uuid4().hex[:12]
        source = Path(self.provider.source_dir(self.app_key, build_key))
        source.mkdir(parents=True)
        for name, text in FILES.items():
            (source / name).write_text(text)
        lines: list[str] = []
        started = time.perf_counter()
        try:
            self.artefact = self.provider.prepare(
                app_key=self.app_key, build_key=build_key, source_dir=str(source),
                log=lines.append, tick=lambda: None, limits=self.limits,
            )  # fmt: skip
        except Exception:
            print("\n".join(lines[-20:]))
            raise
        print(f"{self.name}: build {time.perf_counter() - started:.2f} s")
        return setup_ms

    def spec(self):
        from apps.deploy.runtime.base import ReleaseSpec

        return ReleaseSpec(
            app_key=self.app_key, deployment_key=uuid.uuid4().hex[:12], hostname=self.host,
            artefact=self.artefact, env={}, formation={"web": 1}, limits=self.limits,
        )  # fmt: skip

    def start(self, *, record: bool = True, keep: bool = False):
        """Start a deployment and wait for its first 200; stop it unless `keep`."""
        spec = self.spec()
        supervisor = self.provider.supervisor
        added: list[float] = []
        original = supervisor.add

        def add(name: str) -> None:
            added.append(time.perf_counter())
            original(name)

        supervisor.add = add
        try:
            self.provider.start(spec)
        finally:
            del supervisor.add  # the instance attribute: back to the class's method
        sock = self.provider.bind_socket(spec.app_key, spec.deployment_key, "web", 0)
        deadline = added[0] + 30
        while not answers_200(sock, self.host):
            if time.perf_counter() > deadline:
                raise SystemExit(f"{self.name}: no 200 within 30 s ({sock})")
            time.sleep(0.002)
        took = (time.perf_counter() - added[0]) * 1000
        if record:
            self.starts.append(took)
        if keep:
            return spec
        started = time.perf_counter()
        self.provider.stop(spec.app_key, spec.deployment_key)
        if record:
            self.stops.append((time.perf_counter() - started) * 1000)
        return spec


def run(args, workdir: Path, port: int, wrk_bin: str) -> str:
    from django.conf import settings

    from apps.deploy.runtime.base import ResourceLimits, Route
    from apps.deploy.runtime.local import LocalProvider
    from apps.deploy.runtime.sandbox import missing_requirements

    limits = ResourceLimits(
        memory_mb=512, cpu_millicores=args.cpu_millicores, pids=256, disk_mb=512
    )
    saved = settings.DEPLOY_SANDBOX
    try:
        settings.DEPLOY_SANDBOX = "on"
        sandboxed = LocalProvider()
        settings.DEPLOY_SANDBOX = "off"
        plain = LocalProvider()
    finally:
        settings.DEPLOY_SANDBOX = saved
    if sandboxed.sandbox is None or plain.sandbox is not None:
        raise SystemExit("LocalProvider did not follow DEPLOY_SANDBOX")
    problems = missing_requirements()
    if problems:
        raise SystemExit("The sandbox cannot run here: " + "; ".join(problems))

    conf = sandboxed.render_files([])
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    on = Mode("sandboxed", sandboxed, limits, f"on.{settings.APPS_DOMAIN}")
    off = Mode("plain", plain, limits, f"off.{settings.APPS_DOMAIN}")
    try:
        sandboxed.ensure_ready(wait_s=20)
        app_setup_ms = on.setup()
        off.setup()
        print(f"app setup (sandboxed, first prepare_app): {app_setup_ms:.0f} ms")

        for mode in (on, off):
            mode.start(record=False)
        for _ in range(args.starts):
            for mode in (on, off):
                mode.start()
        for mode in (on, off):
            print(
                f"{mode.name}: start to first 200 (ms) "
                + " ".join(f"{v:.0f}" for v in mode.starts)
                + f"; stop {median(mode.stops):.0f} ms"
            )

        specs = {mode.name: mode.start(record=False, keep=True) for mode in (on, off)}
        for mode in (on, off):
            mode.provider.route(specs[mode.name])
        sandboxed.sync_routes([Route(m.app_key, (m.host,), "python", 1) for m in (on, off)])
        for mode in (on, off):  # warm-up, not counted
            wrk(wrk_bin, port, mode.host, seconds=1, connections=args.connections)
        for mode in (on, off):  # by now gunicorn has forked both workers
            mode.pids = gunicorn_pids(mode.provider, mode.app_key, specs[mode.name].deployment_key)
        uid_on, uid_off = host_uids(on.pids), host_uids(off.pids)
        print(f"gunicorn's host uids: sandboxed {sorted(uid_on)}, plain {sorted(uid_off)}")
        if not uid_on or uid_on & {0} or uid_on & uid_off:
            raise SystemExit("the sandboxed app does not run as a uid of its own")
        for _ in range(args.runs):
            for mode in (on, off):
                cpu_before = cpu_seconds(mode.pids)
                result = wrk(
                    wrk_bin, port, mode.host, seconds=args.seconds, connections=args.connections
                )
                mode.cpu_s += cpu_seconds(mode.pids) - cpu_before
                mode.rps.append(result["rps"])
                mode.loader_cpu.append(result["loader_cpu"])
                mode.failed += result["failed"]
                mode.requests += result["requests"]
        for mode in (on, off):
            print(
                f"{mode.name}: requests/s "
                + " ".join(f"{v:.0f}" for v in mode.rps)
                + f" ({mode.requests} requests, {mode.failed} failed); gunicorn CPU "
                + f"{mode.cpu_s / mode.requests * 1e6:.0f} us a request"
            )
        for mode in (on, off):
            mode.provider.remove_app(mode.app_key)
    finally:
        supervisord.send_signal(signal.SIGTERM)
        try:
            supervisord.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisord.kill()
            supervisord.wait()
        sandboxed.sandbox.remove_all()  # disks unmounted, namespaces and cgroups deleted

    start_on, start_off = median(on.starts), median(off.starts)
    rps_on, rps_off = median(on.rps), median(off.rps)
    cpu_on, cpu_off = (m.cpu_s / m.requests * 1e6 for m in (on, off))
    return (
        f"BENCH sandbox rps_ratio={rps_on / rps_off:.3f} "
        f"start_overhead_ms={start_on - start_off:.0f} "
        f"rps_sandboxed={rps_on:.0f} rps_plain={rps_off:.0f} "
        f"start_sandboxed_ms={start_on:.0f} start_plain_ms={start_off:.0f} "
        f"app_setup_ms={app_setup_ms:.0f} failed_requests={on.failed + off.failed} "
        f"cpu_us_per_request_sandboxed={cpu_on:.0f} cpu_us_per_request_plain={cpu_off:.0f} "
        f"loader_cpu_pct={max(on.loader_cpu + off.loader_cpu) * 100:.0f} "
        f"load_1m={os.getloadavg()[0]:.1f} "
        f"runs={args.runs} starts={args.starts} connections={args.connections} loader=wrk"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="wrk runs per mode (5)")
    parser.add_argument("--seconds", type=float, default=2, help="seconds per wrk run (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--starts", type=int, default=5, help="process starts per mode (5)")
    parser.add_argument(
        "--cpu-millicores", type=int, default=(os.cpu_count() or 1) * 1000,
        help="the app's CPU limit (default: the whole machine)",
    )  # fmt: skip
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/sandbox.py runs as root (the sandbox needs it)")
    wrk_bin = ensure_wrk()

    workdir = Path(tempfile.mkdtemp(prefix="qs-bs-", dir="/tmp"))
    workdir.chmod(0o755)
    port = free_port()
    os.environ.update(
        {
            "DEPLOY_RUNTIME_DIR": str(workdir / "rt"),
            "DEPLOY_HTTP_LISTEN": f"127.0.0.1:{port}",
            "DEPLOY_STOP_WAIT_S": "5",
        }
    )
    started = time.perf_counter()
    try:
        with services(), scratch_database():
            line = run(args, workdir, port, wrk_bin)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"whole bench: {time.perf_counter() - started:.1f} s")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
