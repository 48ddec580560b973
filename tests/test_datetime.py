"""`datetime` and `duration`: literals and their diagnostics, type errors, requests (RFC 3339 with
an offset, read once), records and collections of them, overflow, the ordered index, printing;
every backend alike. (Conformance with Cedar: `test_cedar_datetime.py`.)"""

from __future__ import annotations

import datetime

import pytest

import policydsl

SCHEMA = """\
context {
  at: datetime
  ttl: duration = 1h
  since: datetime = "2024-01-01"
  stamps: set<datetime> = []
  spans: list<duration> = []
  logins: list<{ at: datetime  length: duration? }> = []
  n: int = 0
  name: string = ""
}
effects deny > allow default deny
"""


def _policy(rules: str, backend: str = "compiled") -> policydsl.Policy:
    return policydsl.loads(SCHEMA + rules, backend=backend)


def _codes(rules: str) -> list[str]:
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(SCHEMA + rules)
    return [d.code for d in caught.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(
    ("condition", "code", "message"),
    [
        ('at < "2024-02-30"', "P338", "is not a datetime: no such date 2024-02-30"),
        ('at < "2023-02-29T00:00:00Z"', "P338", "no such date 2023-02-29"),
        ('at < "2024-01-01T24:00:00Z"', "P338", "no such time of day 24:00:00"),
        ('at < "2024-01-01T00:00:00+2400"', "P338", "no such UTC offset +2400"),
        ('at < "2024-01-01T00:00:00"', "P338", "not a datetime"),
        ('at < "tomorrow"', "P338", "not a datetime"),
        ("at < datetime(name)", "P338", "one string literal"),
        ("ttl < 3days", "P339", "not a duration"),
        ("ttl < 1m1h", "P339", "not a duration"),
        ("ttl < 1h1h", "P339", "not a duration"),
        ("ttl < 106751991168d", "P339", "64-bit"),
        ('ttl < duration("1y")', "P339", "not a duration"),
        ("at + at > since", "P340", "has no meaning"),
        ("ttl - at > 0ms", "P340", "has no meaning"),
        ("at + 1 > since", "P340", "has no meaning"),
        ('hour(at, "+25:00") > 1', "P341", "not a UTC offset"),
        ("hour(at, name) > 1", "P341", "string literal"),
    ],
)
def test_a_malformed_literal_or_operation_is_a_check_error_with_a_hint(
    condition: str, code: str, message: str
) -> None:
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(SCHEMA + f"rule r: allow {{ when {condition} }}\n")
    errors = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == [code], errors
    assert message in errors[0].message
    if code != "P340" or "1 >" not in condition:
        assert errors[0].help, errors[0]


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("at < ttl", "P322"),  # a datetime is not ordered with a duration
        ("at == n", "P322"),
        ("ttl > 5", "P322"),
        ("n + ttl > 0", "P303"),  # arithmetic needs integers (the existing code)
        ("hour(ttl) > 1", "P301"),
        ("to_days(at) > 1", "P301"),
        ("hour(at, 1, 2) > 1", "P302"),
        ('at like "2024*"', "P315"),
    ],
)
def test_mixing_types_is_a_type_error(condition: str, code: str) -> None:
    codes = _codes(f"rule r: allow {{ when {condition} }}\n")
    assert len(codes) == 1 and codes[0][:2] == "P3", codes


RULES = """\
rule office: allow {
  when hour(at, "+0100") >= 9 and hour(at, "+0100") < 17 and day_of_week(at) <= 5
}
rule fresh: allow { when at - since < 90d }
rule recent: allow { when some s in stamps: s + ttl > at }
rule long: allow { when some l in logins: has l.length and l.length > 2h }
rule night: deny { when some l in logins: hour(l.at) < 6 }
rule spans: allow { when spans contains 30m }
rule expired: deny { when "2030-01-01T00:00:00Z" <= at }
"""


@pytest.mark.parametrize(
    ("request_", "decision", "rules"),
    [
        ({"at": "2024-01-02T10:00:00+01:00"}, "allow", {"office", "fresh"}),
        ({"at": "2024-06-02T10:00:00Z"}, "deny", set()),  # a Sunday, 150 days on
        ({"at": "2031-01-01T00:00:00Z"}, "deny", {"expired"}),
        (
            {"at": "2024-06-01T12:00:00Z", "stamps": ["2024-06-01T11:30:00.5Z"]},
            "allow",
            {"recent"},
        ),
        (
            {"at": "2024-06-01T12:00:00Z", "logins": [{"at": "2024-06-01T07:00:00+02:00"}]},
            "deny",
            {"night"},
        ),
        (
            {
                "at": datetime.datetime(2024, 6, 1, 12, tzinfo=datetime.UTC),
                "logins": [{"at": "2024-06-01T09:00:00Z", "length": "2h0m0s1ms"}],
                "spans": ["1h", datetime.timedelta(minutes=30)],
            },
            "allow",
            {"long", "spans"},
        ),
    ],
)
def test_requests_decide_alike_on_every_backend(
    request_: dict[str, object], decision: str, rules: set[str]
) -> None:
    for backend in policydsl.BACKENDS:
        decided = _policy(RULES, backend).decide(request_)
        assert (decided.decision, set(decided.rules)) == (decision, rules), backend


@pytest.mark.parametrize(
    ("request_", "attribute", "message"),
    [
        ({"at": "2024-01-02T10:00:00"}, "at", "no UTC offset"),
        ({"at": datetime.datetime(2024, 1, 2)}, "at", "naive"),
        ({"at": "2024-01-02"}, "at", "RFC 3339"),
        ({"at": "2023-02-29T10:00:00Z"}, "at", "no such date 2023-02-29"),
        ({"at": 1_700_000_000_000}, "at", "RFC 3339"),
        ({"at": "x" * 10_000}, "at", "RFC 3339"),
        ({"at": "2024-01-02T10:00:00Z", "ttl": "1h1h"}, "ttl", "not a duration"),
        ({"at": "2024-01-02T10:00:00Z", "ttl": 3600}, "ttl", "not a duration"),
        ({"at": "2024-01-02T10:00:00Z", "ttl": "9223372036854775808ms"}, "ttl", "64-bit"),
        ({"at": "2024-01-02T10:00:00Z", "stamps": ["2024-01-02"]}, "stamps", "element 0"),
        (
            {"at": "2024-01-02T10:00:00Z", "logins": [{"at": "2024-01-02T10:00:00"}]},
            "logins[0].at",
            "no UTC offset",
        ),
    ],
)
def test_a_bad_request_value_is_a_context_error_naming_it(
    request_: dict[str, object], attribute: str, message: str
) -> None:
    for backend in policydsl.BACKENDS:
        with pytest.raises(policydsl.ContextError) as caught:
            _policy(RULES, backend).decide(request_)
        assert caught.value.attribute == attribute, backend
        assert message in str(caught.value), backend


def test_overflow_is_an_error_on_every_backend_and_refused_fail_closed() -> None:
    rules = 'rule far: allow { when at + ttl > "2024-01-01" }\n'
    request = {"at": "2024-01-01T00:00:00Z", "ttl": "9223372036854775807ms"}
    for backend in policydsl.BACKENDS:
        with pytest.raises(policydsl.EvaluationError, match="overflows"):
            _policy(rules, backend).decide(request)
    closed = policydsl.loads(
        SCHEMA.replace("default deny", "default deny refuse deny") + rules, fail_closed=True
    )
    assert closed.decide(request).decision == "deny"
    # a constant that overflows is not folded: it fails when decided, as any other would
    constant = 'rule far: allow { when datetime("2024-01-01") + 106751991166d > at }\n'
    with pytest.raises(policydsl.EvaluationError, match="overflows"):
        _policy(constant).decide({"at": "2024-01-01T00:00:00Z"})


def test_ordered_comparisons_share_the_integer_ordered_index() -> None:
    rules = "".join(
        f'rule r{i}: allow {{ when at >= "2024-01-{i + 1:02d}" and at < "2024-01-{i + 2:02d}" }}\n'
        for i in range(20)
    )
    policy = _policy(rules)
    ir = policy.compiled("ir")
    assert "index order of s0 at:" in ir and "checks:\n\n" in ir  # every rule through it
    for backend in policydsl.BACKENDS:
        decided = _policy(rules, backend).decide({"at": "2024-01-05T23:59:59.999Z"})
        assert decided.rules == ("r4",), backend


def test_the_formatter_keeps_time_literals_and_calls() -> None:
    text = SCHEMA + (
        'rule r: allow { when at - since >= 1d2h3m4s5ms and hour(at, "-0530") == 9 '
        'and -ttl < 0ms and date(at) == datetime("2024-02-29") }\n'
    )
    formatted = policydsl.format_source(text)
    assert "1d2h3m4s5ms" in formatted and 'hour(at, "-0530")' in formatted
    assert policydsl.format_source(formatted) == formatted


def test_explain_prints_time_values_as_the_language_writes_them() -> None:
    policy = _policy('rule r: allow { when at + 90m > "2024-01-01T12:00:00Z" }\n')
    text = policy.compiled("ir")
    assert 'at + 1h30m > datetime("2024-01-01T12:00:00.000Z")' in text


def test_verify_reports_a_property_of_datetimes_not_decided(tmp_path: object) -> None:
    pytest.importorskip("z3")
    from click.testing import CliRunner

    from policydsl.cli import cli

    policy = tmp_path / "p.policy"  # type: ignore[operator]
    policy.write_text(
        SCHEMA
        + 'rule late: deny { when at > "2030-01-01" }\n'
        + 'property p { when at > "2031-01-01" ensure decision == deny }\n',
        encoding="utf-8",
    )
    done = CliRunner().invoke(cli, ["verify", str(policy)])
    assert "not decided" in done.output and "`datetime`" in done.output, done.output
    assert "Traceback" not in done.output


def test_the_compiled_artifact_keeps_datetime_and_duration_constants() -> None:
    """A policy's datetimes and durations (literals, defaults) read back from its artifact as
    the checked values they are, so a policy loaded from it decides as a fresh one."""
    import json

    from policydsl import artifact

    policy = _policy(RULES)
    lowered = policy.lowered()
    data = json.loads(json.dumps(artifact.encode(lowered, policy.warnings, None, policy.sources)))
    stored = artifact.decode(data, policy.sources)
    assert stored.lowered == lowered
    slots = {s.path[-1]: s.default for s in stored.lowered.slots}
    assert type(slots["since"]).__name__ == "Datetime" and type(slots["ttl"]).__name__ == "Duration"
