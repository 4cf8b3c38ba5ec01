"""Today, in one place: every command refuses dates after it, and tests can freeze it.

An encounter dated after today did not happen yet: the knowledge base cannot know the tariffs
and rules of a day to come, so such a date is bad input.  ``NGAP_TODAY`` (an ISO date) freezes
the day for tests and reproducible runs; otherwise the system date is used.
"""

from __future__ import annotations

import datetime as dt
import os

ENV_VAR = "NGAP_TODAY"


class ClockError(RuntimeError):
    """``NGAP_TODAY`` is set but is not a date: a fault of the environment, not of the input."""


def today() -> dt.date:
    """The day taken as today: ``NGAP_TODAY`` when set, else the system date."""
    frozen = os.environ.get(ENV_VAR, "").strip()
    if not frozen:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(frozen)
    except ValueError as error:
        raise ClockError(f"{ENV_VAR}={frozen!r} is not an ISO date (YYYY-MM-DD)") from error
