"""The demo's story (metamodel.demo_data): deterministic per seed, six months long, orders that only
move forward through the pipeline, links only to records made earlier — no database needed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from metamodel.demo_data import SPAN, DemoSize, Ref, Step, demo_steps

END = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SMALL = DemoSize(customers=40, products=8, orders=200)
PIPELINE = ("cart", "ordered", "awaiting_payment", "paid", "repeat")


def story(seed: int = 1, size: DemoSize = SMALL, owners: int = 2) -> list[Step]:
    return demo_steps(size, seed, END, owners)


def stage_paths(steps: list[Step]) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for step in steps:
        if step.entity == "Order":
            path = paths.setdefault(step.key, ["cart"])
            if "stage" in step.values:
                path.append(step.values["stage"])
    return paths


def test_the_same_seed_tells_the_same_story() -> None:
    assert story(seed=3) == story(seed=3)


def test_another_seed_tells_another_story() -> None:
    assert story(seed=3) != story(seed=4)


def test_the_story_makes_the_asked_numbers_of_records() -> None:
    made = Counter(s.entity for s in story() if s.create)
    assert made == {"Customer": 40, "Product": 8, "Order": 200}


def test_the_story_is_sorted_and_lies_in_the_six_months_before_the_end() -> None:
    moments = [s.at for s in story()]
    assert moments == sorted(moments)
    assert END - SPAN <= moments[0] < END - SPAN + timedelta(days=1)
    assert END - timedelta(days=7) < moments[-1] <= END


def test_orders_are_spread_over_the_months() -> None:
    start = END - SPAN
    months = Counter((s.at - start).days // 31 for s in story() if s.entity == "Order" and s.create)
    assert set(months) == {0, 1, 2, 3, 4, 5}
    assert min(months.values()) >= 10  # of 200: every month has business


def test_orders_only_move_forward_through_the_pipeline() -> None:
    for path in stage_paths(story()).values():
        open_part = [stage for stage in path if stage != "cancelled"]
        assert open_part == list(PIPELINE[: len(open_part)]), path
        assert "cancelled" not in path[:-1], path


def test_orders_stop_at_every_stage_and_some_are_cancelled() -> None:
    last = Counter(path[-1] for path in stage_paths(story(size=DemoSize.for_orders(1600))).values())
    assert set(last) >= {"cart", "paid", "repeat", "cancelled"}
    assert last["cart"] > last["cancelled"] > 0
    assert 0.4 < last["cart"] / 1600 < 0.75  # most carts are abandoned, as in any web shop


def test_links_point_to_records_made_earlier() -> None:
    made: set[str] = set()
    for step in story():
        for value in step.values.values():
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, Ref):
                    assert ref.key in made, (step.key, ref.key)
        if step.create:
            made.add(step.key)


def test_owners_and_actors_index_the_sales_users() -> None:
    steps = story(owners=3)
    owners = {s.values["owner"] for s in steps if "owner" in s.values} | {s.actor for s in steps}
    assert owners - {None} == {0, 1, 2}


def test_without_sales_users_nothing_has_an_owner() -> None:
    steps = story(owners=0)
    assert {s.values.get("owner") for s in steps} == {None}
    assert {s.actor for s in steps} == {None}


def test_customer_emails_are_unique_and_reserved_for_examples() -> None:
    emails = [s.values["email"] for s in story(size=DemoSize.for_orders(1600)) if s.entity == "Customer"
              and s.create]
    assert len(emails) == len(set(emails)) == 300
    assert all(e.rsplit("@", 1)[1] in ("example.com", "example.org", "example.net") for e in emails)


def test_the_full_size_keeps_the_issue_s_proportions() -> None:
    assert DemoSize.for_orders(1600) == DemoSize(customers=300, products=50, orders=1600)
    assert DemoSize.for_orders(1) == DemoSize(customers=1, products=1, orders=1)


def test_paid_orders_move_to_repeat_ninety_days_after_their_payment_date() -> None:
    paid_on = {s.key: s.values["paid_on"] for s in story() if s.values.get("stage") == "paid"}
    repeats = [s for s in story() if s.values.get("stage") == "repeat"]
    assert repeats
    for step in repeats:
        assert step.at.date() - paid_on[step.key] == timedelta(days=90)
    assert all(END.date() - day < timedelta(days=90) for key, day in paid_on.items()
               if key not in {s.key for s in repeats})
