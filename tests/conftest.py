"""Shared by the project-level tests (the Zoom double, the Zoom client)."""

import sys
from pathlib import Path

import pytest

# The Zoom double ships with the addon's tests, importable as ``zoom_double``.
DOUBLE_PARENT = Path(__file__).parents[1] / "zoom_booking" / "tests"
sys.path.insert(0, str(DOUBLE_PARENT))


@pytest.fixture(scope="session")
def load_registry():
    """Shadow pytest-odoo's autouse fixture: these tests need no Odoo database.

    When the pytest-odoo plugin is installed it loads an Odoo registry before
    every test, which fails without a configured database; these tests do not
    use Odoo at all.
    """
    yield


@pytest.fixture(scope="module")
def server():
    """A Zoom double on loopback for a test module (app "cid"/"csecret")."""
    from zoom_double import ZoomDouble

    double = ZoomDouble(
        client_id="cid",
        client_secret="csecret",
        webhook_secret="wsecret",
        host="127.0.0.1",
        port=0,
    )
    double.start()
    yield double
    double.stop()


@pytest.fixture
def d(server):
    """The module's Zoom double, as new."""
    server.reset()
    return server
