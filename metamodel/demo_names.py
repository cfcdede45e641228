"""Word lists the demo's story draws from: names, cities, the catalogue, order comments.

Kept apart from :mod:`metamodel.demo_data` so the story's logic reads without a page of words.
Every e-mail the demo makes is at example.com/.org/.net (reserved: mail to them goes nowhere).
"""

from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Katja", "Leon",
    "Mia", "Noah", "Olga", "Paul", "Rosa", "Simon", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoe",
    "Amir", "Bea", "Carlos", "Dana", "Emil", "Fatima", "Jan", "Lena", "Marta", "Nils", "Pia", "Sara",
)
LAST_NAMES = (
    "Adler", "Becker", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Hoffmann", "Ivanova", "Jansen",
    "Keller", "Lindqvist", "Meyer", "Novak", "Okafor", "Peters", "Quinn", "Rossi", "Schmidt", "Tanaka",
    "Usman", "Vogel", "Weber", "Yilmaz", "Zimmer", "Berg", "Horvat", "Kowalski", "Moreau", "Nowak",
)
CITIES = (
    "Berlin", "Berlin", "Berlin", "Hamburg", "Hamburg", "Munich", "Munich", "Cologne", "Frankfurt",
    "Leipzig", "Dresden", "Stuttgart", "Bremen", "Hanover", "Nuremberg", "Vienna", "Zurich", "Amsterdam",
)
TAGS = ("newsletter", "b2b", "gift", "eco", "wholesale")

#: (material, price factor) x (item, base price in EUR) make the catalogue.
MATERIALS = (("Oak", 1.4), ("Walnut", 1.7), ("Linen", 0.9), ("Ceramic", 1.0), ("Brass", 1.5),
             ("Wool", 1.1), ("Bamboo", 0.8), ("Glass", 1.0))
ITEMS = (("desk lamp", 59.0), ("throw", 45.0), ("vase", 29.0), ("mug set", 24.0), ("cutting board", 19.0),
         ("cushion", 22.0), ("side table", 129.0), ("candle holder", 15.0), ("planter", 27.0), ("rug", 149.0))

COMMENTS = (
    "Please call before delivery.",
    "Gift wrap, please.",
    "Leave it with the neighbours if nobody is home.",
    "Deliver to the back entrance.",
    "Invoice to the company address, please.",
    "Can it arrive before Friday?",
)
