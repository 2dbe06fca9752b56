"""The one function the other apps call to feed analytics.

Placeholder until the analytics issue lands: the signature is the contract, callers use it
now; the aggregation behind it comes with that issue.
"""

from datetime import datetime
from typing import Any


def record(
    *,
    account_id: Any,
    platform: str,
    metric: str,
    at: datetime,
    asset_id: str = "",
    count: int = 1,
    dimensions: dict[str, str] | None = None,
    key: str | None = None,
) -> bool:
    """Count `count` of `metric` for an account's asset at time `at`.

    platform: "whatsapp" | "facebook" | "instagram". asset_id: Meta's id of the number,
    page or IG account. dimensions: e.g. {"template": "order_update", "broadcast": "<uuid>",
    "error_code": "131026"}. key: a stable idempotency key (e.g. f"{wamid}:delivered"); a
    second call with the same key counts nothing. Returns True when counted.
    """
    return True
