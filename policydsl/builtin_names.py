"""The built-in type and function names, which are names and not reserved words: what completion
offers and the highlighters colour (`tests/test_highlighting.py` holds both to the checker's)."""

BUILTIN_TYPES = ("bool", "int", "string", "ip", "datetime", "duration", "decimal")
FUNCTIONS = (
    "size",
    "keys",
    "values",
    "datetime",
    "duration",
    "date",
    "time_of_day",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "day_of_week",
    "to_days",
    "to_hours",
    "to_minutes",
    "to_seconds",
    "to_milliseconds",
    "is_ipv4",
    "is_ipv6",
    "is_loopback",
    "is_multicast",
)
