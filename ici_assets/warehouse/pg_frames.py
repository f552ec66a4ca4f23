"""Frames to and from PostgreSQL: rows of a query as the frame DuckDB would return, and a frame as
COPY text (the bulk-load format), rendered in chunks so the server parses while we format.

The read side gives each column the dtype DuckDB's ``.df()`` gives the same SQL type (dates as
``datetime64[us]``, text as ``str``, bigint as ``int64`` or ``Int64`` with NULLs, numeric as
float), so the assets see the same frame, and the same content hash, on either warehouse.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ici_assets.warehouse.layout import ColumnType, TableLayout

# PostgreSQL type OIDs (pg_type), as psycopg reports them in cursor.description.
_INTEGERS = {20: np.int64, 23: np.int32, 21: np.int16}
_INTEGER_NULLABLE = {20: "Int64", 23: "Int32", 21: "Int16"}
_FLOATS = {701, 700, 1700}  # float8, float4, numeric
_TEXT = {25, 1043, 1042, 19}  # text, varchar, bpchar, name
_DATE, _TIMESTAMP, _TIMESTAMPTZ, _BOOL = 1082, 1114, 1184, 16
#: Rows per COPY chunk: large enough for few round trips, small enough to overlap formatting and loading.
COPY_CHUNK_ROWS = 200_000


def _column(values: Sequence, oid: int) -> object:
    """One result column as the array DuckDB's ``.df()`` would give for the same SQL type."""
    if oid in _INTEGERS:
        if any(v is None for v in values):
            return pd.Series(list(values), dtype=_INTEGER_NULLABLE[oid]).array
        return np.array(values, dtype=_INTEGERS[oid])
    if oid in _FLOATS:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if oid in _TEXT and any(v is not None for v in values):  # DuckDB: all-NULL text stays object (None)
        return pd.array(values, dtype="str")
    if oid == _DATE:
        return np.array(values, dtype="datetime64[D]").astype("datetime64[us]")
    if oid == _TIMESTAMP:
        return np.array(values, dtype="datetime64[us]")
    if oid == _TIMESTAMPTZ:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.as_unit("us").array
    if oid == _BOOL:  # DuckDB: bool, or pandas' nullable boolean when a value is NULL
        return pd.array(values, dtype="boolean") if any(v is None for v in values) else np.array(values, dtype=bool)
    return np.array(values, dtype=object)


def frame_from_rows(rows: list[tuple], names: Sequence[str], oids: Sequence[int]) -> pd.DataFrame:
    """A frame from a result's rows, column names and type OIDs."""
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pd.DataFrame({name: _column(list(col), oid) for name, col, oid in zip(names, columns, oids)})


_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _escape_text(values: pd.Series) -> pd.Series:
    """COPY text escapes (backslash, tab, newline, carriage return) of a text column; NULLs stay NULL."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = _escape_text(pd.Series(values.cat.categories.astype(str)))
        return values.cat.rename_categories(list(categories))
    text = values.astype("str")
    if text.str.contains(r"[\\\t\n\r]", regex=True, na=False).any():
        for raw, escaped in _ESCAPES:
            text = text.str.replace(raw, escaped, regex=False)
    return text


def _typed(values: pd.Series, kind: ColumnType) -> pd.Series:
    """A column in the form whose text PostgreSQL reads back as the same value."""
    if kind is ColumnType.TEXT:
        return _escape_text(values)
    if kind is ColumnType.INTEGER and pd.api.types.is_float_dtype(values.dtype):
        return values.round().astype("Int64")  # NULLs made the column float; COPY wants integers
    if kind is ColumnType.TIMESTAMPTZ and pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return values


def copy_chunks(frame: pd.DataFrame, layout: TableLayout) -> Iterator[str]:
    """The rows of ``frame`` (in ``layout``'s column order) as COPY text, ``COPY_CHUNK_ROWS`` rows at a time.

    Floats are written with Python's shortest round-trip repr (exact), NULL and NaN as ``\\N``.
    """
    typed = pd.DataFrame({c.name: _typed(frame[c.name], c.type) for c in layout.columns})
    for start in range(0, len(typed), COPY_CHUNK_ROWS):
        chunk = typed.iloc[start : start + COPY_CHUNK_ROWS]
        yield chunk.to_csv(sep="\t", header=False, index=False, quoting=csv.QUOTE_NONE, na_rep="\\N")
