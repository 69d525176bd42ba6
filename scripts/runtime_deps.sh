#!/usr/bin/env bash
# Debian packages the apps' runtime needs (docs/deploy.md): socat forwards the web socket Caddy
# dials to apps that listen on $PORT (apps/deploy/runtime/forward.py). Run by run.sh and
# test.sh: installs what is missing when this runs as root with apt-get; otherwise it only says
# what to install (deploying such an app then fails, naming the package; its tests skip).
# QS_RUNTIME_DEPS=0 skips this step.
set -euo pipefail

[ "${QS_RUNTIME_DEPS:-1}" = "0" ] && exit 0
missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "runtime_deps: installing ${missing[*]} (for apps that listen on \$PORT)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "runtime_deps: could not install ${missing[*]}" >&2
  exit 0
fi
echo "runtime_deps: ${missing[*]} missing: apps that listen on \$PORT cannot be deployed" \
  "(sudo apt-get install ${missing[*]})" >&2
