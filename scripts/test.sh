#!/usr/bin/env bash
# Runs every test of zoom_booking on a fresh database: the Zoom double's own
# tests, the addon's Odoo tests (TransactionCase, HttpCase, browser tours in
# Chromium) through pytest-odoo, and ruff. Ends with "N passed, N failed".
#
#   scripts/test.sh [extra pytest arguments, e.g. -k connection]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_odoo
ensure_websocket_worker
ensure_python_packages
ensure_postgres
"$PYTHON" -c "import websocket" 2>/dev/null \
    || die "websocket-client is missing for $PYTHON: Odoo would silently skip every browser tour."
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
    say "installing Chromium for the browser tours"
    apt_install chromium || die "Chromium is missing (Debian package 'chromium'): browser tours would be skipped."
fi

DB="${ZOOM_BOOKING_TEST_DB:-zoom_booking_test_$$}"
WORK="$(mktemp -d)"
cleanup() {
    dropdb -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" --if-exists "$DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
[ -n "${ZOOM_BOOKING_KEEP_DB:-}" ] || trap cleanup EXIT

CONF="$WORK/odoo.conf"
write_odoo_config "$CONF" "$DB" 0 "$WORK/data"

say "linting with ruff and pylint-odoo"
lint_failed=0
(cd "$ROOT" && "$PYTHON" -m ruff check --quiet . && "$PYTHON" -m ruff format --check --quiet .) || lint_failed=1
(cd "$ROOT" && "$PYTHON" -m pylint --rcfile=.pylintrc --score=n zoom_booking) || lint_failed=1

say "installing zoom_booking (with google_calendar, microsoft_calendar and google_recaptcha) in a fresh database '$DB'"
dropdb -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" --if-exists "$DB" >/dev/null 2>&1 || true
"$PYTHON" -m odoo -c "$CONF" -d "$DB" -i zoom_booking,google_calendar,microsoft_calendar,google_recaptcha \
    --stop-after-init --log-level=warn --http-port=0 > "$WORK/install.log" 2>&1 \
    || { tail -n 40 "$WORK/install.log"; die "installing the module failed (log above)."; }
if grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL)" "$WORK/install.log"; then
    die "installing the module logged errors (above)."
fi

say "running the tests"
set +e
(cd "$ROOT" && "$PYTHON" -m pytest \
    -p no:cacheprovider \
    --odoo-config="$CONF" --odoo-database="$DB" --odoo-http --odoo-log-level=warn \
    --junitxml="$WORK/junit.xml" -q -rfEs \
    tests zoom_booking/tests "$@")
pytest_rc=$?
set -e

"$PYTHON" "$ROOT/scripts/junit_summary.py" "$WORK/junit.xml" "$lint_failed" "$pytest_rc"
