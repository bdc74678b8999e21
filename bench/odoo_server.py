"""Start Odoo's server as odoo-bin does; used by benchmark.py.

In multi-worker mode Odoo spawns ``sys.argv[0] gevent ...`` for its websocket
server and respawns it as soon as it exits. When gevent cannot be used (e.g. its
``zope.interface`` entry point does not resolve), that respawn loop burns CPU
during the whole benchmark: here the gevent process then waits quietly instead
(the benchmark uses no websocket).
"""

import os

os.environ["TZ"] = "UTC"  # as odoo-bin: before the time module is used

import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

if len(sys.argv) > 1 and sys.argv[1] == "gevent":
    try:
        import gevent.monkey

        gevent.monkey.patch_all()
    except Exception as exc:  # noqa: BLE001 - any failure: no websocket server
        print(
            f"odoo_server: gevent unusable ({exc!r}), no websocket server",
            file=sys.stderr,
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
        while True:
            time.sleep(3600)

import odoo.cli  # noqa: E402

if __name__ == "__main__":
    odoo.cli.main()
