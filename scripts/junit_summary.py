"""The verdict of scripts/test.sh from pytest's JUnit report: one line
``N passed, N failed`` (``, N skipped``), with lint failures and skipped
browser tests counted as failures.

    python3 scripts/junit_summary.py JUNIT_XML LINT_FAILED PYTEST_EXIT_CODE
"""

import sys
import xml.etree.ElementTree as ET

BROWSER_WORDS = ("websocket", "chrome", "http", "browser")


def count(root):
    """``(passed, failed, skipped, browser_skips)`` of a JUnit report."""
    passed = failed = skipped = 0
    browser_skips = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
            message = case.find("skipped").get("message", "")
            if any(word in message.lower() for word in BROWSER_WORDS):
                name = f"{case.get('classname')}.{case.get('name')}"
                browser_skips.append(f"{name}: {message}")
        else:
            passed += 1
    return passed, failed, skipped, browser_skips


def main(path, lint_failed, pytest_rc):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        root = None
    passed, failed, skipped, browser_skips = (
        count(root) if root is not None else (0, 0, 0, [])
    )
    failed += lint_failed
    if browser_skips:
        # Odoo skips browser tours silently without Chromium or websocket-client.
        print("Browser or HTTP tests were skipped, which hides failures:")
        print("\n".join(browser_skips))
        failed += len(browser_skips)
    if root is None or (pytest_rc not in (0, 1) and failed == 0):
        failed += 1  # pytest itself broke (collection or usage error)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
