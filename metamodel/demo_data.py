"""The demo's story: who signs up when, what they buy, and how far each order gets — as timed steps.

Why a separate, pure module: the story is data, not storage.  ``demo_steps`` turns a seed, a size
and an end moment into a sorted list of writes (create this customer at that moment, move that
order to ``paid`` three days later) without touching a database, so it is deterministic by
construction and cheap to test; :mod:`metamodel.demo` replays the steps through ``RecordStore``
on a virtual clock.  Every random choice reads one ``random.Random(seed)``, in a fixed order.

The numbers aim at a small web shop over six months: carts are often abandoned, some orders are
cancelled before or while awaiting payment, paid orders move on to the won stage ``repeat`` when
the store's repeat-sale automation would have moved them, and business grows month by month.
Only record changes are replayed: no message or task is made for the past (see ``metamodel.demo``).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from metamodel.demo_names import CITIES, COMMENTS, FIRST_NAMES, ITEMS, LAST_NAMES, MATERIALS, TAGS

#: How long the story lasts, ending at the moment the demo is loaded.
SPAN = timedelta(days=182)

#: The path of an order: (chance of going on to the next stage, how long that takes, in hours).
#: What does not go on stays (a cart) or is cancelled (an order or an awaited payment).
_ORDERED = (0.42, 0.1, 8.0)
_CONFIRMED = (0.92, 0.2, 24.0)
_PAID = (0.82, 1.0, 120.0)
_SOURCES = (("website", 55), ("marketplace", 20), ("phone", 10), ("referral", 15))
_DELIVERY = (("courier", 60), ("pickup", 15), ("post", 25))
_REPEAT_AFTER = timedelta(days=90)  # "Repeat sale after 90 days" (repeat_sale.craft)
_COME_BACK = 0.25  # abandoned carts whose customer visits again
_VIP_AFTER = 3  # paid orders that earn a customer the tag "vip"
_ENTITY_ORDER = {"Product": 0, "Customer": 1, "Order": 2}  # who comes first at one moment


@dataclass(frozen=True, slots=True)
class DemoSize:
    """How many records the demo makes; ``for_orders`` keeps the full demo's proportions."""

    customers: int = 300
    products: int = 50
    orders: int = 1600

    @classmethod
    def for_orders(cls, orders: int) -> DemoSize:
        return cls(customers=max(1, round(orders * 3 / 16)), products=max(1, round(orders / 32)),
                   orders=orders)


FULL_SIZE = DemoSize()


@dataclass(frozen=True, slots=True)
class Ref:
    """A link to another demo record by its key; the loader swaps in the id it got."""

    key: str


@dataclass(frozen=True, slots=True)
class Step:
    """One write of the story: create record ``key`` or change it, at ``at``, as ``actor``.

    ``actor`` and ``values["owner"]`` are indexes into the loader's list of sales users (None: the
    platform itself — a web checkout or a payment notice).
    """

    at: datetime
    entity: str
    key: str
    create: bool
    values: Mapping[str, Any]
    actor: int | None = None


@dataclass(slots=True)
class _Order:
    key: str
    customer: int
    created: datetime
    paid: datetime | None = None
    steps: list[Step] = field(default_factory=list)


def demo_steps(size: DemoSize, seed: int, end: datetime, owners: int) -> list[Step]:
    """The whole story, sorted by time; nothing after ``end`` (recent orders are still under way)."""
    rng = random.Random(seed)
    start = end - SPAN
    steps = _products(rng, size.products, start, owners)
    customers = _customers(rng, size.customers, start, end, owners)
    steps += [s for _, s in customers]
    prices = [s.values["price"] for s in steps if s.entity == "Product"]
    orders = _orders(rng, size.orders, [at for at, _ in customers], prices, start, end)
    owner_of = [s.values.get("owner") for _, s in customers]
    for order in orders:
        _journey(rng, order, owner_of[order.customer])
    steps += _vips(orders, customers)
    steps += [s for order in orders for s in order.steps]
    kept = [s for s in steps if s.at <= end]
    return sorted(kept, key=lambda s: (s.at, _ENTITY_ORDER[s.entity], not s.create))


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    """A waiting time between ``low`` and ``high`` hours, mostly short (log-uniform)."""
    return timedelta(hours=low * (high / low) ** rng.random())


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _owner(rng: random.Random, owners: int) -> int | None:
    return rng.randrange(owners) if owners else None


def _products(rng: random.Random, count: int, start: datetime, owners: int) -> list[Step]:
    """The catalogue, entered in the first days of the story."""
    names = [(m, i) for i in ITEMS for m in MATERIALS]
    rng.shuffle(names)
    steps = []
    for n in range(count):
        (material, factor), (item, base) = names[n % len(names)]
        cents = max(int(base * factor * 100 * rng.uniform(0.8, 1.25)), 199)
        price = Decimal(cents // 100) + Decimal("0.90" if n % 3 else "0.99")
        title = f"{material} {item}" + (f" no. {n // len(names) + 1}" if n >= len(names) else "")
        steps.append(Step(start + timedelta(minutes=7 * n), "Product", f"product:{n}", True, {
            "sku": f"SC-{1000 + n}", "title": title, "price": price, "in_stock": rng.randint(0, 120),
            "owner": _owner(rng, owners)}, actor=None))
    return steps


def _customers(rng: random.Random, count: int, start: datetime, end: datetime,
               owners: int) -> list[tuple[datetime, Step]]:
    """Sign-ups over the whole span, a little more of them each month (a growing shop)."""
    moments = sorted(start + (end - start) * (rng.random() ** 0.85) for _ in range(count))
    moments[0] = start + timedelta(hours=1)  # someone is there for the first order
    emails: set[str] = set()
    found = []
    for n, at in enumerate(moments):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@example.{rng.choice(('com', 'org', 'net'))}".lower()
        email = email if email not in emails else email.replace("@", f"{n}@")
        emails.add(email)
        source, owner = _weighted(rng, _SOURCES), _owner(rng, owners)
        tags = rng.sample(TAGS, rng.choice((0, 0, 1, 2)))
        values = {"name": f"{first} {last}", "email": email, "phone": f"+4915{rng.randrange(10**8):08d}",
                  "city": rng.choice(CITIES), "source": source, "tags": tags,
                  "unsubscribed": rng.random() < 0.08, "owner": owner}
        actor = owner if source in ("phone", "referral") else None  # a manager typed it in
        found.append((at, Step(at, "Customer", f"customer:{n}", True, values, actor)))
    return found


def _orders(rng: random.Random, count: int, signups: list[datetime], prices: list[Decimal],
            start: datetime, end: datetime) -> list[_Order]:
    """Carts over the span, each from a customer who had signed up by then; a few buy often."""
    loyalty = [min(rng.paretovariate(2.0), 6.0) for _ in signups]
    cumulative = list(itertools.accumulate(loyalty))
    popularity = [1 / (i + 1) ** 0.8 for i in range(len(prices))]
    moments = sorted(start + timedelta(days=1) + (end - start - timedelta(days=1)) * (rng.random() ** 0.9)
                     for _ in range(count))
    orders = []
    for n, at in enumerate(moments):
        known = max(bisect.bisect_right(signups, at), 1)
        customer = rng.choices(range(known), cum_weights=cumulative[:known])[0]
        order = _Order(f"order:{n}", customer, at)
        picked = sorted(set(rng.choices(range(len(prices)), weights=popularity, k=rng.choice((1, 1, 2, 3)))))
        amount = sum((prices[p] * rng.choice((1, 1, 1, 2, 3)) for p in picked), Decimal(0))
        values = {"title": f"Order #{10001 + n}", "customer": Ref(f"customer:{customer}"),
                  "products": [Ref(f"product:{p}") for p in picked], "amount": amount,
                  "delivery": _weighted(rng, _DELIVERY)}
        if rng.random() < 0.12:
            values["comment"] = rng.choice(COMMENTS)
        order.steps.append(Step(at, "Order", order.key, True, values))
        orders.append(order)
    return orders


def _journey(rng: random.Random, order: _Order, owner: int | None) -> None:
    """Move the order on from its cart as the shop and its automations would.

    Ordered (the order gets its customer's manager), confirmed by that manager, paid — or it
    stops: an abandoned cart stays a cart (a quarter of them come back, and the abandoned-cart
    automation gives them 10% off), an order or an awaited payment may be cancelled.  A paid order
    moves to ``repeat`` 90 days after its payment date, as "Repeat sale after 90 days" does.
    """
    at = order.created
    for stage, (goes_on, low, high) in (("ordered", _ORDERED), ("awaiting_payment", _CONFIRMED),
                                        ("paid", _PAID)):
        if rng.random() >= goes_on:
            order.steps += _abandoned(rng, order, at) if stage == "ordered" else [
                Step(at + _hours(rng, 2.0, 240.0), "Order", order.key, False, {"stage": "cancelled"}, owner)]
            return
        at += _hours(rng, low, high)
        values: dict[str, Any] = {"stage": stage}
        if stage == "ordered":
            values["owner"] = owner
        elif stage == "paid":
            values.update(paid=True, paid_on=at.date())
            order.paid = at
        actor = owner if stage == "awaiting_payment" else None  # the manager confirms by phone
        order.steps.append(Step(at, "Order", order.key, False, values, actor))
    midnight = datetime.combine(at.date(), datetime.min.time(), tzinfo=at.tzinfo)
    order.steps.append(Step(midnight + _REPEAT_AFTER, "Order", order.key, False, {"stage": "repeat"}))


def _abandoned(rng: random.Random, order: _Order, left: datetime) -> list[Step]:
    """A cart left behind; some customers come back to it once and are offered a discount."""
    if rng.random() >= _COME_BACK:
        return []
    back = left + _hours(rng, 3.0, 14 * 24.0)
    return [Step(back, "Order", order.key, False, {"visits": 2}),
            Step(back + timedelta(minutes=1), "Order", order.key, False, {"discount": 10})]


def _vips(orders: list[_Order], customers: list[tuple[datetime, Step]]) -> list[Step]:
    """Customers get the tag "vip" when their third order is paid."""
    paid: dict[int, list[datetime]] = {}
    for order in orders:
        if order.paid is not None:
            paid.setdefault(order.customer, []).append(order.paid)
    steps = []
    for customer, moments in sorted(paid.items()):
        if len(moments) >= _VIP_AFTER:
            created = customers[customer][1]
            tags = sorted({*created.values["tags"], "vip"})
            steps.append(Step(sorted(moments)[_VIP_AFTER - 1], "Customer", created.key, False,
                              {"tags": tags}, created.values.get("owner")))
    return steps
