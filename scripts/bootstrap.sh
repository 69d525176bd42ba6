#!/usr/bin/env bash
# Create .venv with Python 3.11 and install requirements/local.txt into it, but only when
# requirements/*.txt changed since the last successful install (sha256 stamp in .venv), so this
# is a no-op taking a few milliseconds when everything is current. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"
REQUIREMENTS=requirements/local.txt

die() {
  echo "bootstrap: error: $*" >&2
  exit 1
}

is_python311() {
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1
}

find_python() {
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_python311 "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

requirements_hash() {
  cat requirements/*.txt | sha256sum | cut -d' ' -f1
}

[ -f "$REQUIREMENTS" ] || die "$REQUIREMENTS not found"

# The `quay` CLI (quay_cli/, docs/cli.md) as a console script of the venv: a shim that runs this
# checkout's quay_cli with the venv's Python, from any directory.
install_quay_shim() {
  local shim="$VENV/bin/quay"
  local wanted
  wanted=$(printf '#!%s\nimport sys\nsys.path.insert(0, %s)\nfrom quay_cli.cli import main\nmain()\n' \
    "$(cd "$VENV/bin" && pwd)/python" "'$(pwd)'")
  if [ ! -x "$shim" ] || [ "$(cat "$shim")" != "$wanted" ]; then
    printf '%s\n' "$wanted" >"$shim"
    chmod 0755 "$shim"
  fi
}

# Fast path: a working 3.11 venv whose stamp matches the requirements.
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(requirements_hash)" ] \
  && is_python311 "$VENV/bin/python"; then
  install_quay_shim
  exit 0
fi

# Serialise concurrent bootstraps (e.g. `make run` and `make test` started together).
mkdir -p .local
exec 9>.local/bootstrap.lock
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if [ -e "$VENV" ] && ! is_python311 "$VENV/bin/python"; then
  echo "bootstrap: $VENV is not a working Python 3.11 virtualenv; recreating it" >&2
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! python=$(find_python); then
    current="not installed"
    if command -v python3 >/dev/null 2>&1; then
      current=$(python3 --version 2>&1 || true)
    fi
    die "Python 3.11 is required, but there is no python3.11 and python3 is not 3.11 ($current).
  On Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv"
  fi
  echo "bootstrap: creating $VENV with $python" >&2
  "$python" -m venv "$VENV" || {
    rm -rf "$VENV"
    die "could not create $VENV with $python (on Debian/Ubuntu: sudo apt-get install python3.11-venv)"
  }
fi

wanted=$(requirements_hash)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$wanted" ]; then
  echo "bootstrap: installing $REQUIREMENTS into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$REQUIREMENTS" || die "pip install -r $REQUIREMENTS failed (see the messages above)"
  echo "$wanted" >"$STAMP"
fi
install_quay_shim
