"""The Zoom scopes the module uses (pure)."""

# Every Zoom scope the module uses, and the classic scope that covers it on
# older apps; the README's configuration steps list the same.
REQUIRED_SCOPES = {
    "meeting:write:meeting": "meeting:write",
    "meeting:update:meeting": "meeting:write",
    "meeting:delete:meeting": "meeting:write",
    "meeting:read:meeting": "meeting:read",
    "meeting:read:list_meetings": "meeting:read",
    "user:read:user": "user:read",
    "user:read:settings": "user:read",
}


def missing_scopes(granted):
    """The scopes the module uses that ``granted`` (Zoom's space-separated
    ``scope`` answer) lacks, neither granular nor classic."""
    granted = set((granted or "").split())
    return [
        scope
        for scope, classic in REQUIRED_SCOPES.items()
        if scope not in granted and classic not in granted
    ]
