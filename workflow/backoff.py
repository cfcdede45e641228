"""How long a failed step waits before its next attempt: exponential backoff with full jitter.

Full jitter (a uniform delay between 0 and the exponential ceiling) rather than a fixed
exponential: when a provider goes down, hundreds of runs fail at the same moment, and identical
delays would bring them all back at the same moment too.  Spreading them keeps the retry load flat.
The random source is a parameter so tests (and the simulator) can make the delays reproducible.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

#: A failed step is tried this many times in all before its instance goes to ``failed``.
MAX_ATTEMPTS = 5
#: First retry ceiling and the ceiling of any retry of a failed workflow step.
STEP_BASE_SECONDS = 30.0
STEP_CAP_SECONDS = 3600.0

# 2**64 times any sane base is past any cap; stopping here keeps the float from overflowing.
_MAX_EXPONENT = 64
_RNG = random.Random()


def retry_delay(attempt: int, *, base: float = 1.0, cap: float = 3600.0,
                rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = first retry): uniform in 0..ceiling.

    The ceiling is ``min(cap, base * 2**attempt)``; a negative ``attempt`` counts as 0.
    """
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    ceiling = min(cap, base * 2.0 ** exponent)
    return (rng or _RNG).uniform(0.0, ceiling)


def step_retry_at(now: datetime, attempt: int, rng: random.Random | None = None) -> datetime:
    """When a step that failed for the ``attempt``-th time runs again (30 s base, 1 h cap)."""
    delay = retry_delay(attempt, base=STEP_BASE_SECONDS, cap=STEP_CAP_SECONDS, rng=rng)
    return now + timedelta(seconds=delay)
