#!/usr/bin/env bash
# The browser tests (tests/browser, marker `browser`) drive Debian's Chromium by path with
# Playwright (requirements/local.txt; no `playwright install`, no browser download). Run by
# test.sh: installs the Debian package when it is missing and this runs as root with apt-get;
# otherwise it only says what is missing (the browser tests then skip, naming the package).
# QS_BROWSER_DEPS=0 skips this step.
set -euo pipefail

[ "${QS_BROWSER_DEPS:-1}" = "0" ] && exit 0
command -v chromium >/dev/null 2>&1 && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser_deps: installing chromium (for the browser tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
  echo "browser_deps: could not install them; the browser tests will be skipped" >&2
  exit 0
fi
echo "browser_deps: chromium missing; the browser tests will be skipped" \
  "(sudo apt-get install chromium)" >&2
