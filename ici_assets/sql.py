"""SQL identifier safety: every name that comes from YAML or configuration passes here."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: object, what: str) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ValueError naming ``what``.

    Only letters, digits and underscores (not starting with a digit) are accepted, so a
    name from dbt YAML or run config can never close a quote or start a second statement.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"{what} {name!r} is not a plain SQL identifier: use letters, digits and "
            "underscores only (no quotes, spaces, dots or semicolons)."
        )
    return name


def quote_identifier(name: str) -> str:
    """Double-quote an identifier for DuckDB, doubling any embedded quote."""
    return '"' + str(name).replace('"', '""') + '"'
