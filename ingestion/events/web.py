"""Web details of an event: IP truncation, the path and the UTM parameters of a page URL."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote_plus, urlsplit

# Query parameters copied into their own columns (SPEC 3.2), in column order.
UTM_PARAMETERS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id",
    "utm_campaign_id", "utm_adset_id", "utm_ad_id", "utm_placement", "fbclid",
)
_UTM_SET = frozenset(UTM_PARAMETERS)
_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})").fullmatch
_IPV4_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:a.b.c.d, the first 12 bytes
_6TO4 = b"\x20\x02"  # 2002:aabb:ccdd::/48 carries the IPv4 address aa.bb.cc.dd whole


def truncate_ip(value: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48 network address; None when it is not an address.

    An IPv6 address that carries an IPv4 address is truncated like it: an IPv4-mapped one
    (`::ffff:203.0.113.7`) becomes the IPv4 network (`203.0.113.0`), the address it stands
    for, and a 6to4 one keeps only the /24 of its IPv4 (its /48 would keep it all).
    An unreadable value is dropped rather than kept, since it may still identify someone
    (e.g. an `X-Forwarded-For` list).
    """
    ipv4 = _IPV4(value)
    if ipv4:
        octets = ipv4.groups()
        if all(len(octet) < 3 or octet <= "255" for octet in octets):
            return f"{int(octets[0])}.{int(octets[1])}.{int(octets[2])}.0"
        return None
    try:  # the C parser and printer: the same canonical text as `ipaddress`, 30x faster
        packed = socket.inet_pton(socket.AF_INET6, value.strip())
    except (OSError, ValueError):
        pass
    else:
        return _truncate_ipv6(packed)
    try:  # the rest: IPv4 with spaces, scoped IPv6 (fe80::1%eth0), ...
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 4:
        return _truncate_ipv4(address.packed)
    return _truncate_ipv6(address.packed)


def _truncate_ipv4(packed: bytes) -> str:
    return f"{packed[0]}.{packed[1]}.{packed[2]}.0"


def _truncate_ipv6(packed: bytes) -> str:
    if packed[:12] == _IPV4_MAPPED:
        return _truncate_ipv4(packed[12:])
    kept = 5 if packed[:2] == _6TO4 else 6
    return socket.inet_ntop(socket.AF_INET6, packed[:kept] + bytes(16 - kept))


def path_of(url: str) -> str | None:
    """The path of a URL (`/` for a bare host), None when it cannot be split."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return path or "/"


def utm_of(url: str | None) -> dict[str, str]:
    """The UTM (and fbclid) parameters of a URL's query string; the first of repeats wins."""
    if not url:
        return {}
    _, question, rest = url.partition("?")
    if not question:
        return {}
    query = rest.partition("#")[0]
    found: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name in _UTM_SET and name not in found and value:
            if "%" in value or "+" in value:
                decoded = unquote_plus(value)
                value = value if "\x00" in decoded else decoded  # %00: keep it encoded
            found[name] = value
    return found
