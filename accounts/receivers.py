"""Signal receivers of the accounts app (e.g. a Graph call answered with code 190)."""
