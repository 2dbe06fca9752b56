class IdConverter:
    """`<id:...>` in URL patterns: a Meta id or one of our UUIDs. Anything else (a NUL byte,
    a slash, a thousand characters) matches no route, so it is a 404 before any query."""

    regex = r"[A-Za-z0-9_.:-]{1,128}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
