"""Certificate numbers in gap-free series and verification codes people can type."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

# Unambiguous letters and digits (no O/0, I/1) for codes read off paper.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def verification_code(prefix: str, length: int = 10) -> str:
    """`HN-7K3M9QXT2P`: the prefix (a top-level unit) tells a gateway which deployment to ask."""
    return f"{prefix}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def next_in_series(session: Session, series_model: Any, series: str) -> int:
    """The next number of a series; the series row's lock orders concurrent issuers."""
    row = session.get(series_model, series, with_for_update=True)
    if row is None:
        row = series_model(series=series, last_number=0)
        session.add(row)
    row.last_number += 1
    return row.last_number
