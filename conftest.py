"""Loaded by pytest before its plugins start: Odoo's test framework is imported
here, in test mode, so that pytest-odoo importing it later does not log Odoo's
"Importing test framework" ERROR with a traceback on every run."""

import odoo

_test_enable = odoo.tools.config["test_enable"]
odoo.tools.config["test_enable"] = True
try:
    import odoo.tests  # noqa: F401
finally:
    odoo.tools.config["test_enable"] = _test_enable
