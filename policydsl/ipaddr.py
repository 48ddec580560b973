"""IP addresses and ranges: `ip` attributes and `in_range` tests.

A request's address is kept as its canonical text (`ipaddress`'s: `2001:db8::1`, never
`2001:DB8:0::1`), so equality, membership and the indexes compare text, and an address written
two ways is one value. A range is a CIDR block (`10.0.0.0/8`, `fd00::/8`), its host bits allowed
and dropped; an IPv4 address is never in an IPv6 range, nor the other way round (IPv4-mapped
IPv6 addresses are IPv6). An IPv6 zone (`fe80::1%eth0`) is refused, as Cedar refuses it: an
address with one is not a value any range holds.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _compile_canonical_ipv4(text: str) -> re.Match[str] | None:
    """Whether `text` is an IPv4 address as `ipaddress` writes it. The first call compiles the
    pattern (not every start-up) and puts its `fullmatch` in its own place."""
    global _canonical_ipv4
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # ASCII digits, no leading zero
    _canonical_ipv4 = re.compile(rf"(?:{octet}\.){{3}}{octet}").fullmatch
    return _canonical_ipv4(text)


_canonical_ipv4: Callable[[str], re.Match[str] | None] = _compile_canonical_ipv4


def canonical_address(text: str) -> str:
    """The canonical text of an IPv4 or IPv6 address; `ValueError` if `text` is none.

    An IPv4 address already written canonically, what requests mostly hold, is recognised by
    one regular expression, a tenth of the cost of parsing it with `ipaddress`; anything else
    is parsed (and refused) by `ipaddress`, which accepts the same IPv4 texts and no others."""
    if text.__class__ is not str or len(text) > 64 or "%" in text:  # no zone (`fe80::1%eth0`)
        raise ValueError("not an IP address")
    if _canonical_ipv4(text) is not None:
        return text
    return str(ipaddress.ip_address(text))


def canonical_network(text: str) -> str:
    """The canonical text of a CIDR range; `ValueError` if `text` is none."""
    if "/" not in text:
        raise ValueError("no prefix length")
    return str(_network(text))


@functools.lru_cache(maxsize=1_024)  # the ranges a policy names: its constants
def _network(text: str) -> Network:
    return ipaddress.ip_network(text, strict=False)


def in_range(address: str, network: str) -> bool:
    """Whether the (canonical) address lies in the range, of the same IP version."""
    range_ = _network(network)
    found = ipaddress.ip_address(address)
    return found.version == range_.version and found in range_


def network_key(network: str) -> tuple[int, int, int]:
    """A range's IP version, prefix length, and the key `network_keys` gives each address in it
    for that length: the address's leading bits, the length and the version in one integer."""
    net = _network(network)
    bits = int(net.network_address) >> (net.max_prefixlen - net.prefixlen)
    return net.version, net.prefixlen, (bits << 9) | (net.prefixlen << 1) | (net.version == 6)


def network_keys(address: str, v4: tuple[int, ...], v6: tuple[int, ...]) -> list[int]:
    """The key of each range of the given prefix lengths that holds the (canonical) address, of
    its own version only: the lookups of an `in_range` index, one per length."""
    if ":" in address:  # IPv6, IPv4-mapped ones included
        n = int(ipaddress.IPv6Address(address))
        return [(n >> (128 - length) << 9) | (length << 1) | 1 for length in v6]
    a, b, c, d = address.split(".")  # canonical IPv4: four decimal numbers
    n = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    return [(n >> (32 - length) << 9) | (length << 1) for length in v4]
