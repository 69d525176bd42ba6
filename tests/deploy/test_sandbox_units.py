"""The sandbox's parts without a runtime: cgroup drivers (v2 on a fake cgroupfs, since the
machines here mount only v1; v1 on a fake too, the real one is used by the runtime tests), uid
allocation, the network rules, the bwrap command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from apps.deploy.runtime.base import ResourceLimits, RuntimeProblem
from apps.deploy.runtime.sandbox import cgroups, network
from apps.deploy.runtime.sandbox.command import Invocation, Mount, bwrap_argv
from apps.deploy.runtime.sandbox.uids import UidAllocator, parse_range

LIMITS = ResourceLimits(memory_mb=96, cpu_millicores=250, pids=40, disk_mb=100)


def fake_v2(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup2"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def fake_v1(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup1"
    for controller in cgroups.CgroupV1.CONTROLLERS:
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    return root


def run_lines(lines: list[str], arg: str = "0") -> None:
    """Run launch-script lines as the launch script would ($1 = the process number)."""
    script = "\n".join(lines) + "\n"
    done = subprocess.run(["/bin/sh", "-c", script, "launch", arg], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_detect_picks_v2_where_the_unified_hierarchy_has_the_controllers(tmp_path):
    assert isinstance(cgroups.detect(str(fake_v2(tmp_path))), cgroups.CgroupV2)
    assert isinstance(cgroups.detect(str(fake_v1(tmp_path))), cgroups.CgroupV1)
    assert cgroups.detect(str(tmp_path / "nothing")) is None


def test_v2_launch_lines_set_limits_enable_controllers_and_join(tmp_path):
    root = fake_v2(tmp_path)
    driver = cgroups.CgroupV2(root)
    run_lines(driver.join_lines("a" * 32, "dep-web-$1", LIMITS), arg="3")
    group = root / "quayside" / ("a" * 32) / "dep-web-3"
    assert (group / "memory.max").read_text().strip() == str(96 * 1024 * 1024)
    assert (group / "cpu.max").read_text().strip() == "25000 100000"
    assert (group / "pids.max").read_text().strip() == "40"
    assert (group / "cpu.weight").read_text().strip() == str(cgroups.cpu_weight(256))
    assert (root / "quayside" / ("a" * 32) / "cpu.weight").read_text().strip() == "39"
    assert (group / "cgroup.procs").read_text().strip().isdigit()
    for parent in (root, root / "quayside", root / "quayside" / ("a" * 32)):
        assert "+memory" in (parent / "cgroup.subtree_control").read_text()


def test_v2_usage_and_oom_kills_are_read_from_its_files(tmp_path):
    root = fake_v2(tmp_path)
    driver = cgroups.CgroupV2(root)
    run_lines(driver.join_lines("b" * 32, "dep-web-$1", LIMITS))  # what a launch script does
    group = root / "quayside" / ("b" * 32) / "dep-web-0"
    (group / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (group / "memory.current").write_text("4096\n")
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    usage = driver.usage("b" * 32, "dep-web-0")
    assert usage == cgroups.Usage(
        cpu_ns=1_500_000, memory_bytes=4096, memory_limit_bytes=96 * 1024 * 1024, oom_kills=2
    )
    assert driver.names("b" * 32) == ["dep-web-0"]
    shown = subprocess.run(
        ["/bin/sh", "-c", driver.oom_kill_count_command("b" * 32, "dep-web-0")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert shown.strip() == "2"


def test_v1_launch_lines_write_each_controller(tmp_path):
    root = fake_v1(tmp_path)
    driver = cgroups.CgroupV1(root)
    run_lines(driver.join_lines("c" * 32, "dep-worker-$1", LIMITS), arg="1")
    rel = Path("quayside") / ("c" * 32) / "dep-worker-1"
    assert (root / "memory" / rel / "memory.limit_in_bytes").read_text().strip() == str(
        96 * 1024 * 1024
    )
    assert (root / "cpu" / rel / "cpu.cfs_quota_us").read_text().strip() == "25000"
    assert (root / "pids" / rel / "pids.max").read_text().strip() == "40"
    assert (root / "cpu" / rel / "cpu.shares").read_text().strip() == "256"  # 250 m
    assert (root / "cpu" / "quayside" / ("c" * 32) / "cpu.shares").read_text().strip() == "1024"
    for controller in cgroups.CgroupV1.CONTROLLERS:
        assert (root / controller / rel / "cgroup.procs").read_text().strip().isdigit()


def test_cgroup_paths_refuse_shell_syntax(tmp_path):
    driver = cgroups.CgroupV2(fake_v2(tmp_path))
    with pytest.raises(RuntimeProblem):
        driver.join_lines("d" * 32, 'x"; rm -rf /; "', LIMITS)


def test_uids_are_one_per_app_never_shared_and_reused_only_after_release(tmp_path):
    allocator = UidAllocator(tmp_path / "uids", (300000, 300002))
    first, second = allocator.allocate("app1"), allocator.allocate("app2")
    assert first != second and allocator.allocate("app1") == first
    allocator.allocate("app3")
    with pytest.raises(RuntimeProblem, match="widen"):
        allocator.allocate("app4")
    allocator.release("app2")
    assert allocator.allocate("app4") == second
    assert allocator.owners() == {first: "app1", second: "app4", 300002: "app3"}


def test_uid_range_is_checked():
    assert parse_range("200000-299999") == (200000, 299999)
    for bad in ("0-10", "abc", "5000-4000", "100-2000"):
        with pytest.raises(RuntimeProblem):
            parse_range(bad)


def test_rules_deny_the_host_before_allowing_what_the_operator_named():
    rules = network.ruleset(
        denied={"192.0.2.2", "203.0.113.9"},
        allowed=network.parse_allowed(["10.1.0.0/16", "0.0.0.0/0"]),
    )
    lines = [line.strip() for line in rules.splitlines()]
    deny = lines.index("ip daddr { 192.0.2.2, 203.0.113.9 } reject")
    allow = lines.index("ip daddr { 10.1.0.0/16, 0.0.0.0/0 } accept")
    private = next(i for i, line in enumerate(lines) if line.startswith("ip daddr { 0.0.0.0/8"))
    assert lines.index(f"ip daddr {network.GATEWAY} reject") < deny < allow < private
    assert "meta nfproto ipv6 reject" in lines
    for bad in (["nonsense"], ["fd00::/8"]):
        with pytest.raises(RuntimeProblem):
            network.parse_allowed(bad)


def test_bwrap_drops_privileges_before_the_user_namespace_and_mounts_only_what_it_is_given():
    argv = bwrap_argv(
        Invocation(
            uid=200007,
            netns="/run/netns/qabc",
            mounts=(Mount("/srv/r/apps/k", writable=True), Mount("/srv/r/tools")),
            env={},
            cwd="/srv/r/apps/k/builds/b",
            argv=("python", "-V"),
        )
    )
    assert argv.index("setpriv") < argv.index("bwrap")
    assert "--reuid=200007" in argv and "--no-new-privs" in argv and "--disable-userns" in argv
    bound = [argv[i + 1] for i, part in enumerate(argv) if part in ("--bind", "--ro-bind")]
    assert bound == ["/usr", "/etc", "/srv/r/apps/k", "/srv/r/tools"]
    assert argv[argv.index("--bind") + 1] == "/srv/r/apps/k"
    assert argv[-3:] == ["--", "python", "-V"]


def test_the_ruleset_is_worked_out_once_per_settings_within_its_ttl(
    tmp_path, settings, monkeypatch
):
    """Every build, start and reconcile pass asks for the ruleset; the host's addresses are
    read again only when the TTL is over or a setting that shapes the rules changed."""
    from apps.deploy.runtime import sandbox as sandbox_module

    reads = []
    real = network.host_addresses
    monkeypatch.setattr(network, "host_addresses", lambda: reads.append(1) or real())
    sandbox_module._RULES_CACHE.clear()
    settings.DEPLOY_SANDBOX_ALLOWED_NETWORKS = []
    box = sandbox_module.Sandbox(tmp_path)
    first = box.rules()
    assert box.rules() == first and sandbox_module.Sandbox(tmp_path).rules() == first
    assert len(reads) == 1
    settings.DEPLOY_SANDBOX_ALLOWED_NETWORKS = ["198.51.100.0/24"]
    changed = box.rules()
    assert len(reads) == 2 and "198.51.100.0/24" in changed and changed != first
    monkeypatch.setattr(sandbox_module, "RULES_TTL_S", 0.0)
    sandbox_module._RULES_CACHE.clear()
    box.rules()
    box.rules()
    assert len(reads) == 4
