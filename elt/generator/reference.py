"""Static reference data the generator draws from.

The countries here are also the dbt seed ``seeds/countries.csv``; a test keeps the
two identical, so the seed stays the single reference analysts see.
"""

from __future__ import annotations

from typing import NamedTuple


class Country(NamedTuple):
    code: str
    name: str
    region: str
    currency: str
    cities: tuple[str, ...]
    weight: float  # share of customers


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "United States",
        "North America",
        "USD",
        ("New York", "Chicago", "Austin", "Seattle"),
        0.30,
    ),
    Country("CA", "Canada", "North America", "CAD", ("Toronto", "Montreal", "Vancouver"), 0.06),
    Country("GB", "United Kingdom", "Europe", "GBP", ("London", "Manchester", "Leeds"), 0.12),
    Country("DE", "Germany", "Europe", "EUR", ("Berlin", "Hamburg", "Munich"), 0.12),
    Country("FR", "France", "Europe", "EUR", ("Paris", "Lyon", "Marseille"), 0.09),
    Country("ES", "Spain", "Europe", "EUR", ("Madrid", "Barcelona", "Valencia"), 0.05),
    Country("NL", "Netherlands", "Europe", "EUR", ("Amsterdam", "Rotterdam", "Utrecht"), 0.04),
    Country("SE", "Sweden", "Europe", "SEK", ("Stockholm", "Gothenburg", "Malmo"), 0.03),
    Country("CH", "Switzerland", "Europe", "CHF", ("Zurich", "Geneva", "Basel"), 0.03),
    Country("AU", "Australia", "Asia Pacific", "AUD", ("Sydney", "Melbourne", "Brisbane"), 0.06),
    Country(
        "BR", "Brazil", "Latin America", "BRL", ("Sao Paulo", "Rio de Janeiro", "Curitiba"), 0.05
    ),
    Country("IN", "India", "Asia Pacific", "INR", ("Mumbai", "Delhi", "Bengaluru"), 0.05),
)

# Units of currency per 1 USD on the first generated day; rates then random-walk.
USD_PER_UNIT_START: dict[str, float] = {
    "EUR": 1.09,
    "GBP": 1.27,
    "CAD": 0.74,
    "AUD": 0.66,
    "SEK": 0.095,
    "CHF": 1.12,
    "BRL": 0.20,
    "INR": 0.012,
}
FX_CURRENCIES: tuple[str, ...] = tuple(USD_PER_UNIT_START)  # published by the FX feed
ALL_CURRENCIES: tuple[str, ...] = ("USD", *FX_CURRENCIES)

CATEGORIES: tuple[str, ...] = (
    "Books",
    "Electronics",
    "Home",
    "Garden",
    "Toys",
    "Sports",
    "Beauty",
    "Grocery",
    "Clothing",
    "Shoes",
    "Music",
    "Office",
)
ADJECTIVES: tuple[str, ...] = (
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Ultra",
    "Smart",
    "Vintage",
    "Pro",
    "Mini",
    "Premium",
    "Essential",
    "Urban",
)
NOUNS: tuple[str, ...] = (
    "Lamp",
    "Backpack",
    "Kettle",
    "Novel",
    "Headphones",
    "Planter",
    "Puzzle",
    "Racket",
    "Serum",
    "Coffee",
    "Jacket",
    "Sneakers",
    "Vinyl",
    "Notebook",
    "Speaker",
    "Blanket",
)
FIRST_NAMES: tuple[str, ...] = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "Elijah",
    "Mia",
    "Lucas",
    "Hannah",
    "Mateo",
    "Chloe",
    "Leon",
    "Freya",
    "Arjun",
    "Priya",
    "Yuki",
    "Sofia",
    "Lars",
    "Ines",
    "Hugo",
    "Clara",
    "Felix",
    "Nora",
    "Diego",
    "Ana",
    "Ravi",
    "Zoe",
    "Jonas",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Miller",
    "Martin",
    "Muller",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Silva",
    "Santos",
    "Patel",
    "Sharma",
    "Andersson",
    "Johansson",
    "Jansen",
    "De Vries",
    "Lopez",
    "Fernandez",
    "Wilson",
    "Taylor",
    "Thomas",
    "Moore",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "mail.example", "inbox.example", "post.example")
SEGMENTS: tuple[str, ...] = ("consumer", "small_business", "corporate", "vip")
CHANNELS: tuple[str, ...] = ("web", "mobile_app", "marketplace")
PAYMENT_METHODS: tuple[str, ...] = ("card", "paypal", "bank_transfer", "gift_card")
COUPON_CODES: tuple[str, ...] = ("WELCOME10", "SPRING15", "VIP20", "FREESHIP")
ORDER_STATUSES: tuple[str, ...] = (
    "placed",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
)
