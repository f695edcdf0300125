"""Building answers for tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

PATH = "toimeentulotuki"
STEP = "ensitapaaminen"


def answer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "path": PATH,
        "step": STEP,
        "rating": "good",
        "reasons": [],
        "comment": None,
        "language": "fi",
        "answered_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    body.update(overrides)
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
