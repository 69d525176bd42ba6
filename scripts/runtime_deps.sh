#!/usr/bin/env bash
# The Debian packages the apps' runtime needs (docs/deploy.md "Installing the sandbox"): the app
# sandbox's programs, and socat, which forwards the web socket Caddy dials to apps that listen on
# $PORT (apps/deploy/runtime/forward.py). Run by run.sh (`runtime_deps.sh run`) and test.sh
# (`runtime_deps.sh test`). When one is missing: installed if this runs as root with apt-get
# (`apt-get update` first, only then, non-interactive), else the exact apt-get line is printed.
# Never fails: an unreachable package mirror is only reported, and with nothing missing apt is
# not touched at all (so `make test` works with the network cut). In `run` mode it also says that
# the sandbox needs root and what DEPLOY_SANDBOX=off means. With DEPLOY_SANDBOX=off in the
# environment only socat is checked. QS_RUNTIME_DEPS=0 skips this step.
set -uo pipefail

[ "${QS_RUNTIME_DEPS:-1}" = "0" ] && exit 0
mode=${1:-test}

# program:package. The sandbox's are REQUIRED_TOOLS in apps/deploy/runtime/sandbox/__init__.py,
# the same pairs (tests/deploy/test_sandbox_checks.py fails when they differ).
SANDBOX_TOOLS="bwrap:bubblewrap slirp4netns:slirp4netns nsenter:util-linux setpriv:util-linux
nft:nftables ip:iproute2 mkfs.ext4:e2fsprogs resize2fs:e2fsprogs"
PORT_APP_TOOLS="socat:socat"

sandbox=on
sandbox_setting=${DEPLOY_SANDBOX:-on}
case "${sandbox_setting,,}" in
  off | 0 | false | no) sandbox=off ;; # Django's system check deploy.W001 says what that means
esac
wanted=$PORT_APP_TOOLS
[ "$sandbox" = on ] && wanted="$SANDBOX_TOOLS $PORT_APP_TOOLS"

missing=()
for pair in $wanted; do
  tool=${pair%%:*}
  package=${pair#*:}
  # Root's tools live in sbin, which an ordinary user's PATH may lack.
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1; then
    case " ${missing[*]-} " in *" $package "*) ;; *) missing+=("$package") ;; esac
  fi
done

needs_hint=0
if [ "${#missing[@]}" -gt 0 ]; then
  line="apt-get install -y ${missing[*]}"
  if [ "$EUID" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "runtime_deps: installing ${missing[*]} (for the apps' runtime)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      echo "runtime_deps: could not install them (is the package mirror reachable?): $line" >&2
      needs_hint=1
    fi
  else
    echo "runtime_deps: the apps' runtime needs ${missing[*]}: sudo $line" >&2
    needs_hint=1
  fi
fi
if [ "$sandbox" = on ] && [ "$EUID" != 0 ] && [ "$mode" = run ]; then
  echo "runtime_deps: the app sandbox needs root (each app gets a uid, a network and cgroups" \
    "of its own): run 'make run' as root" >&2
  needs_hint=1
fi
if [ "$sandbox" = on ] && [ "$needs_hint" = 1 ] && [ "$mode" = run ]; then
  echo "runtime_deps: until then deployments fail; DEPLOY_SANDBOX=off runs apps unsandboxed" \
    "instead, as one shared user on this machine's network (development only)." >&2
fi
exit 0
