#!/usr/bin/env bash
# Starts zoom_booking on http://localhost:8069: creates (or reuses and updates) a
# database with the module and its demo data, starts a Zoom sandbox (the project's
# Zoom double) unless real Zoom app credentials are given, then runs Odoo.
#
#   scripts/run.sh
#   ZOOM_CLIENT_ID=... ZOOM_CLIENT_SECRET=... ZOOM_WEBHOOK_SECRET_TOKEN=... scripts/run.sh
#
# Settings: ZOOM_BOOKING_DB (default zoom_booking), ZOOM_BOOKING_PORT (8069),
# ZOOM_SANDBOX_PORT (8070), ZOOM_BOOKING_BASE_URL (http://localhost:8069),
# ZOOM_BOOKING_WORKERS (0: threaded; 2 or more: multi-worker), ZOOM_BOOKING_LISTEN
# (127.0.0.1; 0.0.0.0 to listen on every interface).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_odoo
ensure_websocket_worker
ensure_python_packages
ensure_postgres

DB="${ZOOM_BOOKING_DB:-zoom_booking}"
PORT="${ZOOM_BOOKING_PORT:-8069}"
SANDBOX_PORT="${ZOOM_SANDBOX_PORT:-8070}"
BASE_URL="${ZOOM_BOOKING_BASE_URL:-http://localhost:$PORT}"
WORKERS="${ZOOM_BOOKING_WORKERS:-0}"
STATE="${ZOOM_BOOKING_STATE_DIR:-$ROOT/var}"
mkdir -p "$STATE"
CONF="$STATE/odoo.conf"
# Loopback only unless told otherwise: the demo users' passwords are admin/admin.
LISTEN="${ZOOM_BOOKING_LISTEN:-127.0.0.1}"
write_odoo_config "$CONF" "$DB" "$PORT" "$STATE/data"
sed -i "s/^http_interface = .*/http_interface = $LISTEN/" "$CONF"

sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -n "${ZOOM_CLIENT_ID:-}" ] && [ -n "${ZOOM_CLIENT_SECRET:-}" ]; then
    say "using the real Zoom app $ZOOM_CLIENT_ID"
    export ZB_CLIENT_ID="$ZOOM_CLIENT_ID" ZB_CLIENT_SECRET="$ZOOM_CLIENT_SECRET"
    export ZB_WEBHOOK_SECRET="${ZOOM_WEBHOOK_SECRET_TOKEN:-}"
    export ZB_OAUTH_URL="https://zoom.us" ZB_API_URL="https://api.zoom.us/v2"
else
    say "no ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET given: starting the Zoom sandbox on port $SANDBOX_PORT"
    export ZB_CLIENT_ID="sandbox-client-id" ZB_CLIENT_SECRET="sandbox-client-secret"
    export ZB_WEBHOOK_SECRET="sandbox-webhook-secret"
    "$PYTHON" "$ROOT/zoom_booking/tests/zoom_double" --host 127.0.0.1 --port "$SANDBOX_PORT" \
        --client-id "$ZB_CLIENT_ID" --client-secret "$ZB_CLIENT_SECRET" \
        --webhook-secret "$ZB_WEBHOOK_SECRET" > "$STATE/zoom_sandbox.log" 2>&1 &
    sandbox_pid=$!
    for _i in $(seq 50); do
        grep -q ZOOM_DOUBLE_URL "$STATE/zoom_sandbox.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q ZOOM_DOUBLE_URL "$STATE/zoom_sandbox.log" \
        || die "the Zoom sandbox did not start (see $STATE/zoom_sandbox.log)."
    export ZB_OAUTH_URL="http://127.0.0.1:$SANDBOX_PORT" ZB_API_URL="http://127.0.0.1:$SANDBOX_PORT/v2"
fi

if "$PYTHON" - "$DB_HOST" "$DB_PORT" "$DB_USER" "$DB" <<'PY'
import sys, psycopg2
cr = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3], dbname="postgres").cursor()
cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [sys.argv[4]])
sys.exit(0 if cr.fetchone() else 1)
PY
then
    say "updating zoom_booking in the existing database '$DB'"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -u zoom_booking --stop-after-init --log-level=warn
else
    say "creating the database '$DB' with zoom_booking and its demo data"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -i zoom_booking --stop-after-init --log-level=warn
fi

ZB_BASE_URL="$BASE_URL" "$PYTHON" "$ROOT/scripts/configure_zoom.py" "$CONF" "$DB"

cat <<MSG

  zoom_booking is starting on $BASE_URL (listening on $LISTEN only)
  Log in as admin / admin (or demo / demo, who owns the demo booking calendars).
  Guests book at $BASE_URL/book/product-demo
  Zoom: ${ZB_OAUTH_URL} $( [ -n "$sandbox_pid" ] && echo "(sandbox: click Connect, then Authorize)")
  Stop with Ctrl+C.

MSG
# shellcheck disable=SC2046
$(odoo_server_command) -c "$CONF" -d "$DB" --workers="$WORKERS" --max-cron-threads=1
