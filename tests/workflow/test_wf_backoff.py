"""Specification of retry backoff: exponential ceiling, full jitter, reproducible with a seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from workflow.backoff import MAX_ATTEMPTS, retry_delay, step_retry_at

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_delay_stays_between_zero_and_the_exponential_ceiling() -> None:
    rng = random.Random(1)
    for attempt in range(8):
        for _ in range(200):
            assert 0.0 <= retry_delay(attempt, base=2.0, rng=rng) <= 2.0 * 2**attempt


def test_delay_never_exceeds_the_cap() -> None:
    rng = random.Random(2)
    assert all(retry_delay(30, base=1.0, cap=10.0, rng=rng) <= 10.0 for _ in range(500))


def test_delay_ceiling_grows_with_the_attempt() -> None:
    rng = random.Random(3)
    early = max(retry_delay(1, rng=rng) for _ in range(300))
    late = max(retry_delay(6, rng=rng) for _ in range(300))
    assert early <= 2.0 < 32.0 < late <= 64.0


def test_delay_is_jittered() -> None:
    rng = random.Random(4)
    assert len({retry_delay(5, rng=rng) for _ in range(20)}) == 20


def test_seeded_rng_gives_the_same_delays() -> None:
    first = [retry_delay(a, rng=random.Random(42)) for a in range(6)]
    again = [retry_delay(a, rng=random.Random(42)) for a in range(6)]
    assert first == again


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert 0.0 <= retry_delay(10_000, cap=60.0, rng=random.Random(5)) <= 60.0


def test_negative_attempt_counts_as_the_first_retry() -> None:
    assert 0.0 <= retry_delay(-3, base=1.0, rng=random.Random(6)) <= 1.0


def test_step_retry_is_within_thirty_seconds_times_two_to_the_attempt() -> None:
    rng = random.Random(7)
    for attempt in range(4):
        at = step_retry_at(NOW, attempt, rng)
        assert NOW <= at <= NOW + timedelta(seconds=30 * 2**attempt)


def test_step_retry_waits_at_most_an_hour() -> None:
    rng = random.Random(8)
    assert all(step_retry_at(NOW, 20, rng) <= NOW + timedelta(hours=1) for _ in range(200))


def test_step_retry_is_deterministic_with_a_seed() -> None:
    assert step_retry_at(NOW, 3, random.Random(9)) == step_retry_at(NOW, 3, random.Random(9))


def test_failed_steps_get_five_attempts_by_default() -> None:
    assert MAX_ATTEMPTS == 5
