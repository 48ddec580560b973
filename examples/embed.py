"""Embedding policydsl: compile a policy once, then decide many requests.

Run it after `pip install .` (or with `PYTHONPATH=.` in a checkout): `python examples/embed.py`.
"""

from pathlib import Path

import policydsl

HERE = Path(__file__).parent

# The standard library (the usage policy): compile once, `decide` is the hot path.
usage = policydsl.load_stdlib()
for request in (
    {"user": {"age": 34}},
    {"user": {"age": 29}, "content": {"categories": ["spam"]}},
    {"content": {"categories": []}},  # age unknown: review, verify_age
):
    print(usage.decide(request).to_dict())

# An invalid context is an error naming the attribute, never a silent allow...
try:
    usage.decide({"user": {"age": "17"}})
except policydsl.ContextError as err:
    print(f"rejected at {err.attribute}: {err}")

# ...or, in fail-closed mode, a deny that says why.
strict = policydsl.load_stdlib(fail_closed=True)
print(strict.decide({"user": {"age": -1}}).to_dict())

# Any policy set works the same way: here, document sharing with its own effects and outputs.
sharing = policydsl.load(HERE / "doc_sharing" / "sharing.policy")
decision = sharing.decide(
    {
        "actor": {"id": "ana", "role": "editor"},
        "document": {"owner_id": "ben", "level": "confidential"},
        "share": {"audience": "team", "recipients": ["cy@example.com"]},
    }
)
print(decision.to_dict())
