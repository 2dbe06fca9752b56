from uuid import UUID

from botopia_meta.exceptions import NotFound


def uuid_or_404(value: UUID | str, what: str = "object") -> UUID:
    """One of our ids from a URL or a query: a malformed one is the same 404 as a missing one."""
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.") from None
