#!/usr/bin/env bash
# Shared by scripts/run.sh and scripts/test.sh: find (or install) Odoo 18.0 and
# PostgreSQL, and say in one line what is missing when they cannot be had.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DB_HOST="${ZOOM_BOOKING_DB_HOST:-127.0.0.1}"
DB_PORT="${ZOOM_BOOKING_DB_PORT:-5432}"
DB_USER="${ZOOM_BOOKING_DB_USER:-$(id -un)}"
ODOO_BRANCH="18.0"
ODOO_GIT="https://github.com/odoo/odoo.git"
ODOO_SRC="${ZOOM_BOOKING_ODOO_SRC:-${XDG_CACHE_HOME:-$HOME/.cache}/zoom_booking/odoo-$ODOO_BRANCH}"

die() { echo "zoom_booking: $*" >&2; exit 2; }
say() { echo "zoom_booking: $*" >&2; }

odoo_importable() {
    "$PYTHON" -c 'import odoo, odoo.release as r; assert r.version_info[:2] == (18, 0)' 2>/dev/null
}

apt_install() {
    # Debian packages, only where we may install them (root with apt-get).
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        if [ -z "${_APT_UPDATED:-}" ]; then
            apt-get update -qq >/dev/null 2>&1 || true
            _APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
    else
        return 1
    fi
}

ensure_odoo() {
    odoo_importable && return 0
    say "Odoo 18.0 is not importable by $PYTHON: installing it from Odoo's official source ($ODOO_GIT, branch $ODOO_BRANCH)."
    command -v git >/dev/null || die "git is missing: install git, or install Odoo 18.0 so that '$PYTHON -c \"import odoo\"' works."
    if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
        mkdir -p "$(dirname "$ODOO_SRC")"
        git clone --quiet --depth 1 --branch "$ODOO_BRANCH" "$ODOO_GIT" "$ODOO_SRC" \
            || die "could not download Odoo 18.0 from $ODOO_GIT: install Odoo 18.0 so that '$PYTHON -c \"import odoo\"' works."
    fi
    apt_install libldap2-dev libsasl2-dev libpq-dev || true
    local constraint
    constraint="$(mktemp)"
    echo 'setuptools<81' > "$constraint"
    PIP_CONSTRAINT="$constraint" "$PYTHON" -m pip install -q 'setuptools<81' wheel \
        && PIP_CONSTRAINT="$constraint" "$PYTHON" -m pip install -q -r "$ODOO_SRC/requirements.txt" \
        && PIP_CONSTRAINT="$constraint" "$PYTHON" -m pip install -q --no-deps -e "$ODOO_SRC" \
        || { rm -f "$constraint"; die "installing Odoo 18.0's Python requirements failed (see pip's output above)."; }
    rm -f "$constraint"
    odoo_importable || die "Odoo 18.0 was installed but '$PYTHON -c \"import odoo\"' still fails."
}

gevent_usable() {
    # As Odoo's websocket worker starts: gevent patches and loads its plugins.
    "$PYTHON" -c 'import gevent.monkey; gevent.monkey.patch_all()' >/dev/null 2>&1
}

ensure_websocket_worker() {
    # Multi-worker Odoo serves its live bus (websocket) from a gevent process.
    gevent_usable && return 0
    say "gevent cannot start Odoo's websocket worker: installing the pins of requirements.txt"
    "$PYTHON" -m pip install -q -r "$ROOT/requirements.txt" \
        || die "could not install requirements.txt (gevent's zope.interface and zope.event)."
    gevent_usable || die "gevent still cannot start: Odoo's websocket worker would not run in multi-worker mode."
}

ensure_python_packages() {
    "$PYTHON" -m pip install -q -r "$ROOT/requirements-dev.txt" >/dev/null 2>&1 \
        || "$PYTHON" -m pip install -q -r "$ROOT/requirements-dev.txt" \
        || die "could not install the test requirements (requirements-dev.txt)."
}

ensure_postgres() {
    "$PYTHON" - "$DB_HOST" "$DB_PORT" "$DB_USER" <<'PY' 2>/dev/null && return 0
import sys, psycopg2
psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3], dbname="postgres").close()
PY
    # Odoo refuses the postgres role: create ours as a superuser when we can.
    if command -v su >/dev/null && id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        su postgres -c "createuser -s '$DB_USER'" >/dev/null 2>&1 || true
        "$PYTHON" -c "import psycopg2; psycopg2.connect(host='$DB_HOST', port='$DB_PORT', user='$DB_USER', dbname='postgres').close()" 2>/dev/null && return 0
    fi
    die "PostgreSQL is not reachable at $DB_HOST:$DB_PORT as role '$DB_USER' (start it, or set ZOOM_BOOKING_DB_HOST/PORT/USER)."
}

odoo_addons_path() {
    "$PYTHON" - "$ROOT" <<'PY'
import os, sys
import odoo
root = os.path.dirname(odoo.__file__)
paths = [sys.argv[1], os.path.join(root, "addons")]
extra = os.path.normpath(os.path.join(root, "..", "addons"))
if os.path.isdir(os.path.join(extra, "calendar")):
    paths.append(extra)
print(",".join(paths))
PY
}

odoo_server_command() {
    # Odoo's multi-worker mode re-runs its own command line for the websocket
    # worker, which `python3 -m odoo` cannot survive: prefer odoo-bin.
    local bin
    bin="$("$PYTHON" -c 'import odoo, os; p = os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin"); print(p if os.path.isfile(p) else "")')"
    if [ -n "$bin" ]; then
        echo "$PYTHON $bin"
    elif command -v odoo >/dev/null; then
        echo "odoo"
    else
        echo "$PYTHON -m odoo"
    fi
}

write_odoo_config() {
    # $1: file, $2: database, $3: http port, $4: data dir
    cat > "$1" <<CFG
[options]
db_host = $DB_HOST
db_port = $DB_PORT
db_user = $DB_USER
db_name = $2
dbfilter = ^$2\$
addons_path = $(odoo_addons_path)
data_dir = $4
http_port = $3
http_interface = 127.0.0.1
list_db = False
CFG
}
