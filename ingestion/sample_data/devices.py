"""Browsers, devices, bots and IP addresses the sample visitors use."""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate
from random import Random

from ingestion.sample_data.draws import below, between, pick


@dataclass(frozen=True)
class Device:
    user_agent: str | None
    kind: str            # desktop | mobile | tablet
    viewport: tuple[int, int]
    screen: tuple[int, int]


_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0"

# (weight, device) for ordinary browsing.
BROWSERS: tuple[tuple[float, Device], ...] = (
    (22, Device(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME}", "desktop",
                (1536, 730), (1920, 1080))),
    (5, Device(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Edg/130.0.0.0", "desktop",
               (1536, 730), (1920, 1080))),
    (4, Device("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
               "desktop", (1920, 969), (1920, 1080))),
    (9, Device(f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Safari/605.1.15",
               "desktop", (1512, 823), (1512, 982))),
    (7, Device(f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_CHROME}", "desktop",
               (1440, 789), (1440, 900))),
    (1.5, Device("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
                 "desktop", (1850, 940), (1920, 1080))),
    (20, Device(f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) {_SAFARI} "
                "Mobile/15E148 Safari/604.1", "mobile", (390, 664), (390, 844))),
    (4, Device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) CriOS/130.0.6723.37 Mobile/15E148 Safari/604.1", "mobile",
               (390, 664), (390, 844))),
    (12, Device("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
                " Chrome/130.0.6723.58 Mobile Safari/537.36", "mobile", (412, 839), (412, 915))),
    (6, Device("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko)"
               " SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "mobile",
               (384, 754), (384, 832))),
    (4, Device("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
               "Gecko) Version/17.6 Mobile/15E148 Safari/604.1", "tablet", (810, 1010),
               (810, 1080))),
    (2, Device("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko)"
               " Chrome/130.0.6723.58 Safari/537.36", "tablet", (1280, 712), (1280, 800))),
)

# Facebook and Instagram open ad links in their in-app browsers.
IN_APP_BROWSERS: tuple[tuple[float, Device], ...] = (
    (3, Device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/482.0.0.44.105;FBBV/646542218;"
               "FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.6.1;FBSS/3;FBLC/en_US;FBOP/5]",
               "mobile", (393, 659), (393, 852))),
    (2, Device("Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) "
               "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.58 Mobile "
               "Safari/537.36 Instagram 352.0.0.38.100 Android (34/14; 450dpi; 1080x2340; "
               "samsung; SM-A546B; a54x; s5e8835; en_US; 650010236)", "mobile",
               (412, 771), (412, 892))),
)

# (weight, name, device, pages per visit): crawlers, headless browsers and scripts.
BOTS: tuple[tuple[float, str, Device, tuple[int, int]], ...] = (
    (4, "googlebot", Device("Mozilla/5.0 (compatible; Googlebot/2.1; "
                            "+http://www.google.com/bot.html)", "desktop", (1024, 1024),
                            (1024, 1024)), (5, 30)),
    (2, "bingbot", Device("Mozilla/5.0 (compatible; bingbot/2.0; "
                          "+http://www.bing.com/bingbot.htm)", "desktop", (1024, 768),
                          (1024, 768)), (3, 15)),
    (2, "headless", Device("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                           "Gecko) HeadlessChrome/130.0.6723.58 Safari/537.36", "desktop",
                           (800, 600), (800, 600)), (2, 10)),
    (1, "python-requests", Device("python-requests/2.32.3", "desktop", (0, 0), (0, 0)), (1, 4)),
    (1, "curl", Device("curl/8.7.1", "desktop", (0, 0), (0, 0)), (1, 2)),
    (1, "ahrefs", Device("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
                         "desktop", (1024, 768), (1024, 768)), (5, 20)),
)

# The scraper that sends over 1,000 events a day behind an ordinary browser's user agent.
SPOOFED_SCRAPER = BROWSERS[0][1]

# Phones running the native apps (no browser user agent).
APP_DEVICES = (Device(None, "mobile", (390, 844), (390, 844)),
               Device(None, "mobile", (412, 915), (412, 915)),
               Device(None, "tablet", (820, 1180), (820, 1180)))

_IPV4_FIRST = (24, 45, 47, 67, 73, 76, 81, 86, 92, 98, 104, 109, 151, 176, 185, 188, 212, 217)
_IPV6_PREFIXES = ("2a02:8108", "2600:1700", "2a01:cb00", "2603:7000", "2a00:23c5", "2001:9e8")


Table = tuple[tuple[object, ...], tuple[float, ...]]


def weighted(items: tuple[tuple[float, object], ...]) -> Table:
    """Split (weight, item) pairs into items and cumulative weights for `choose`."""
    return tuple(item for _, item in items), tuple(accumulate(w for w, _ in items))


def choose(rng: Random, table: Table) -> object:
    items, cumulative = table
    return items[min(bisect(cumulative, rng.random() * cumulative[-1]), len(items) - 1)]


BROWSER_TABLE = weighted(BROWSERS)
IN_APP_TABLE = weighted(IN_APP_BROWSERS)
BOT_TABLE = weighted(tuple((w, (name, device, pages)) for w, name, device, pages in BOTS))


def ip_address(rng: Random) -> str:
    """A public-looking IPv4 (three in four) or IPv6 address."""
    if rng.random() < 0.75:
        return (f"{pick(rng, _IPV4_FIRST)}.{below(rng, 256)}"
                f".{below(rng, 256)}.{between(rng, 1, 255)}")
    groups = ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))
    return f"{pick(rng, _IPV6_PREFIXES)}:{groups}"
