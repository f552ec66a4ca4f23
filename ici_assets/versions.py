"""Code and data versions: what changes an ICI number, as short stable hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd


def stable_hash(payload: Any, length: int = 16) -> str:
    """Short sha256 of a JSON-serialisable payload (keys sorted), the same in every process."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def frame_hash(frame: pd.DataFrame, length: int = 16) -> str:
    """Content hash of a data frame's values, column names and dtypes (row order matters).

    pandas' ``hash_pandas_object`` uses a fixed key, so the hash is identical across processes.
    """
    h = hashlib.sha256()
    h.update(json.dumps([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:length]
