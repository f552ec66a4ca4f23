"""The anomalies alert: the flagged unit-periods of one materialisation as a JSON payload, posted to a webhook.

The payload (what a chat tool's incoming webhook or an on-call service receives)::

    {"text": "2 unit-periods flagged in ici/media_nodes/anomalies: Revenue in R07 on ...", "model": "media_nodes",
     "asset_key": "ici/media_nodes/anomalies", "run_id": "...", "flagged": [{"period": "2025-12-30", "unit": "R07",
     "score": 7.4, "deviation": -4211.0, "expected": 23390.0, "sentence": "Revenue in R07 on ..."}, ...]}
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ici_assets.publish.summaries import tidy

if TYPE_CHECKING:
    import pandas as pd

#: Flagged unit-periods a materialisation carries in its metadata (and an alert posts), highest score first.
MAX_ALERTED = 200
TIMEOUT_SECONDS = 10.0


def flagged_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready record per flagged unit-period of the anomaly rows, highest score first."""
    flagged = rows[rows["flagged"]].drop_duplicates(["period", "unit"]).sort_values("score", ascending=False)
    return [
        {
            "period": str(r.period),
            "unit": str(r.unit),
            "score": tidy(r.score),  # 4 significant digits, as every float of the metadata
            "deviation": tidy(r.deviation),
            "expected": tidy(r.expected),
            "sentence": str(r.sentence),
        }
        for r in flagged.head(MAX_ALERTED).itertuples()
    ]


def alert_payload(model: str, asset_key: str, run_id: str, flagged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The webhook's JSON body: a one-line ``text`` (what chat webhooks show) and the flagged records."""
    first = f": {flagged[0]['sentence']}" if flagged else ""
    more = f" (and {len(flagged) - 1} more)" if len(flagged) > 1 else ""
    return {
        "text": f"{len(flagged)} unit-period(s) flagged in {asset_key}{first}{more}",
        "model": model,
        "asset_key": asset_key,
        "run_id": run_id,
        "flagged": list(flagged),
    }


def post_json(url: str, payload: Mapping[str, Any], timeout: float = TIMEOUT_SECONDS) -> int:
    """POST ``payload`` as JSON to ``url``; return the HTTP status (an error status or no answer raises, naming
    the URL's host so the sensor's failed tick says where)."""
    body = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    host = urllib.parse.urlsplit(url).netloc
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise RuntimeError(
            f"Posting the anomalies alert to {host} failed: {exc}. Check meta.ici.anomalies.webhook"
        ) from exc
