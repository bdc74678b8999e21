"""Meeting passcodes that a Zoom account's passcode policy accepts (pure)."""

import secrets

SPECIALS = "@-_*"
# Zoom allows at most 10 characters of a-z A-Z 0-9 @ - _ *.
MAX_LENGTH = 10
LETTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "23456789"


def problems(passcode, policy):
    """What in ``passcode`` breaks ``policy`` (Zoom's
    ``meeting_password_requirement``): a list, empty when it is accepted."""
    policy = policy or {}
    found = []
    if len(passcode) < int(policy.get("length") or 0):
        found.append("length")
    if policy.get("only_allow_numeric") and not passcode.isdigit():
        found.append("only_allow_numeric")
    if policy.get("have_letter") and not any(c.isalpha() for c in passcode):
        found.append("have_letter")
    if policy.get("have_number") and not any(c.isdigit() for c in passcode):
        found.append("have_number")
    if policy.get("have_upper_and_lower_characters") and not (
        any(c.isupper() for c in passcode) and any(c.islower() for c in passcode)
    ):
        found.append("have_upper_and_lower_characters")
    if policy.get("have_special_character") and not any(
        c in SPECIALS for c in passcode
    ):
        found.append("have_special_character")
    run = int(policy.get("consecutive_characters_length") or 0)
    if run and _has_run(passcode, run):
        found.append("consecutive_characters_length")
    return found


def _has_run(text, run):
    """Whether ``text`` has ``run`` equal (1111) or ascending (1234) characters."""
    same = up = 1
    for previous, current in zip(text, text[1:], strict=False):
        same = same + 1 if current == previous else 1
        up = up + 1 if ord(current) == ord(previous) + 1 else 1
        if max(same, up) >= run:
            return True
    return False


def make_passcode(policy=None):
    """A random passcode of 8 to 10 characters that ``policy`` accepts."""
    policy = policy or {}
    length = min(MAX_LENGTH, max(8, int(policy.get("length") or 0)))
    if policy.get("only_allow_numeric"):
        alphabet = "0123456789"
    else:
        alphabet = LETTERS + DIGITS
        if policy.get("have_special_character"):
            alphabet += SPECIALS
    for _attempt in range(1000):
        passcode = "".join(secrets.choice(alphabet) for _ in range(length))
        if not problems(passcode, policy):
            return passcode
    raise ValueError("no passcode can meet this policy")
