"""IP addresses (`ip` attributes) and ranges (`in_range`): canonical text, versions kept apart,
literals checked when the policy is, and every backend alike."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

import policydsl

POLICY = """\
context {
  source: ip
  proxy: ip?
  allowed: list<ip> = []
}
effects deny > allow default allow
rule private: deny { when source in_range "10.0.0.0/8" or source in_range "fd00::/8" }
rule loopback: deny { when source in_range "127.0.0.0/8" or source == "::1" }
rule one_host: deny { when source == "2001:DB8:0::1" }
rule listed: deny { when source in ["192.168.1.10", "192.168.1.11"] }
rule via_proxy: deny { when has proxy and proxy in_range "100.64.0.0/10" }
rule allowed_source: allow { when source in allowed }
"""

ADDRESSES = [
    "10.1.2.3",
    "11.0.0.1",
    "127.0.0.1",
    "::1",
    "2001:db8::1",
    "2001:0db8:0000::0001",
    "fd12::7",
    "::ffff:10.1.2.3",
    "192.168.1.10",
    "100.64.3.4",
]


@pytest.fixture(scope="module")
def policies() -> dict[str, policydsl.Policy]:
    return {b: policydsl.loads(POLICY, backend=b) for b in policydsl.BACKENDS}


def expected(source: str, proxy: str | None, allowed: list[str]) -> tuple[str, ...]:
    """What the rules mean, by the standard library's `ipaddress`."""
    address = ipaddress.ip_address(source)

    def inside(a: ipaddress.IPv4Address | ipaddress.IPv6Address, cidr: str) -> bool:
        network = ipaddress.ip_network(cidr)
        return a.version == network.version and a in network

    fired = []
    if any(a == address for a in map(ipaddress.ip_address, allowed)):
        fired.append("allowed_source")
    if inside(address, "127.0.0.0/8") or address == ipaddress.ip_address("::1"):
        fired.append("loopback")
    if address == ipaddress.ip_address("2001:db8::1"):
        fired.append("one_host")
    if address in map(ipaddress.ip_address, ["192.168.1.10", "192.168.1.11"]):
        fired.append("listed")
    if inside(address, "10.0.0.0/8") or inside(address, "fd00::/8"):
        fired.append("private")
    if proxy is not None and inside(ipaddress.ip_address(proxy), "100.64.0.0/10"):
        fired.append("via_proxy")
    return tuple(sorted(fired))


def test_every_backend_agrees_with_the_standard_library(
    policies: dict[str, policydsl.Policy],
) -> None:
    for source, proxy in itertools.product(ADDRESSES, [None, "100.64.0.1", "100.128.0.1"]):
        for allowed in ([], [source.upper()], ["10.9.9.9"]):
            context = {"source": source, "proxy": proxy, "allowed": allowed}
            want = expected(source, proxy, allowed)
            for backend, policy in policies.items():
                assert policy.decide(context).rules == want, (backend, context)


def test_an_address_is_one_value_however_it_is_written(
    policies: dict[str, policydsl.Policy],
) -> None:
    """`2001:0db8:0000::0001` is `2001:db8::1`: equal, and an IPv4-mapped address is IPv6."""
    for policy in policies.values():
        assert policy.decide({"source": "2001:0DB8:0000::0001"}).rules == ("one_host",)
        assert policy.decide({"source": "::ffff:10.1.2.3"}).rules == ()


OCTETS = ["0", "9", "10", "99", "199", "249", "255", "256", "00", "01", "300", "", "a", "\u0663"]


def test_ipv4_texts_are_accepted_exactly_as_the_standard_library_accepts_them(
    policies: dict[str, policydsl.Policy],
) -> None:
    """Canonical IPv4 texts take a quicker path than the others: every spelling of four
    octets (leading zeros, out of range, empty, non-ASCII digits) is accepted, or refused, as
    `ipaddress` does, on every backend."""
    for octets in itertools.product(OCTETS, repeat=4):
        text = ".".join(octets)
        try:
            canonical = str(ipaddress.ip_address(text))
        except ValueError:
            canonical = None
        for backend, policy in policies.items():
            if canonical is None:
                with pytest.raises(policydsl.ContextError):
                    policy.decide({"source": text})
            else:
                want = expected(canonical, None, [])
                assert policy.decide({"source": text}).rules == want, (backend, text)


@pytest.mark.parametrize("value", ["10.0.0.256", "10.0.0", "", "localhost", 3, "10.0.0.0/8"])
def test_a_request_that_is_not_an_address_is_refused_by_name(
    policies: dict[str, policydsl.Policy], value: object
) -> None:
    for backend, policy in policies.items():
        with pytest.raises(policydsl.ContextError) as caught:
            policy.decide({"source": value})
        assert caught.value.attribute == "source", backend


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('source == "10.0.0.300"', "is not an IP address"),
        ('source in_range "10.0.0.0"', "prefix length"),
        ('source in_range "10.0.0.0/33"', "is not an IP range"),
        ("source in_range label", "takes its range as a string literal"),
    ],
)
def test_a_literal_that_is_not_an_address_or_range_is_a_check_error(
    condition: str, message: str
) -> None:
    text = (
        'context { source: ip  label: string = "" }\neffects deny > allow default allow\n'
        f"rule r: deny {{ when {condition} }}\n"
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["P334"]
    assert message in str(caught.value)


def test_in_range_on_a_string_is_a_type_error() -> None:
    text = (
        'context { host: string = "" }\neffects deny > allow default allow\n'
        'rule r: deny { when host in_range "10.0.0.0/8" }\n'
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    assert [d.code for d in caught.value.diagnostics] == ["P322"]


PREDICATES = """\
context { source: ip }
effects hit > miss default miss
rule v4: hit { when is_ipv4(source) }
rule v6: hit { when is_ipv6(source) }
rule loopback: hit { when is_loopback(source) }
rule multicast: hit { when is_multicast(source) }
"""


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "128.0.0.1",
        "::1",
        "::2",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "ff02::1",
        "fe80::1",
        "10.0.0.1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_address_predicates_agree_with_the_standard_library(address: str) -> None:
    """`is_ipv4`, `is_ipv6`, `is_loopback`, `is_multicast` (Cedar's, by name): an IPv4-mapped
    IPv6 address is IPv6, and neither loopback nor multicast."""
    found = ipaddress.ip_address(address)
    want = sorted(
        name
        for name, holds in (
            ("v4", found.version == 4),
            ("v6", found.version == 6),
            (
                "loopback",
                found in ipaddress.ip_network("127.0.0.0/8" if found.version == 4 else "::1/128"),
            ),
            ("multicast", found.is_multicast),
        )
        if holds
    )
    for backend in policydsl.BACKENDS:
        policy = policydsl.loads(PREDICATES, backend=backend)
        assert list(policy.decide({"source": address}).rules) == want, backend


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("is_loopback(label)", "P322"),
        ("is_ipv4(source, source)", "P302"),
        ("is_ip4(source)", "P201"),
    ],
)
def test_a_predicate_misapplied_is_a_check_error(condition: str, code: str) -> None:
    text = (
        'context { source: ip  label: string = "" }\neffects deny > allow default allow\n'
        f"rule r: deny {{ when {condition} }}\n"
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    assert [d.code for d in caught.value.diagnostics] == [code]
