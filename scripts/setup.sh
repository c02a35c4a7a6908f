#!/usr/bin/env bash
# Prepare this machine for `make run` / `make test`: system GIS libraries, a virtualenv made
# from Debian's own Python, and the project installed into it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-/usr/bin/python3}
WITH_BROWSER=${WITH_BROWSER:-0}

# GeoDjango needs GDAL, GEOS and PROJ; the embedded database needs the SpatiaLite module;
# `make messages` needs GNU gettext.
SYSTEM_PACKAGES=(gdal-bin libgeos-c1v5 libproj25 libsqlite3-mod-spatialite python3-venv gettext)
if [ "$WITH_BROWSER" = 1 ]; then SYSTEM_PACKAGES+=(chromium); fi

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: these system packages are missing: ${missing[*]}" >&2
        echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# SpatiaLite is loaded as an SQLite extension; a Python built without extension loading
# (the pyenv one on this machine, for instance) cannot open the embedded database at all.
if [ ! -x "$PYTHON" ]; then
    echo "setup: $PYTHON not found. Install Debian's python3 (apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if ! "$PYTHON" -c "import sqlite3; sqlite3.connect(':memory:').enable_load_extension(True)" 2>/dev/null; then
    echo "setup: $PYTHON cannot load SQLite extensions, so SpatiaLite cannot open." >&2
    echo "setup: use Debian's /usr/bin/python3 (apt-get install python3 python3-venv), or a Python built with --enable-loadable-sqlite-extensions, via PYTHON=..." >&2
    exit 1
fi

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c "import sqlite3; sqlite3.connect(':memory:').enable_load_extension(True)" 2>/dev/null; then
    echo "setup: $VENV was made from a Python without SQLite extension loading; recreating it from $PYTHON"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV from $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing the project and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    touch "$stamp"
fi
