"""mask_url: only secret query values masked; odd ports and IPv6 hosts kept."""

from __future__ import annotations

import pytest

from driftline.adapters.settings import mask_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis://cache:6379/0?db=1&password=hunter2&ssl=true",
            "redis://cache:6379/0?db=1&password=***&ssl=true",
        ),
        ("redis://cache/0?Token=abc#frag", "redis://cache/0?Token=***#frag"),
        # parameters that merely contain a secret word are left alone
        ("redis://cache/0?passwords=1&xpassword=2", "redis://cache/0?passwords=1&xpassword=2"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),  # no password to hide
    ],
)
def test_mask_url_masks_only_secret_query_values(url: str, expected: str) -> None:
    assert mask_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # a port that is not a number is not mask_url's business: no ValueError
        ("redis://:hunter2@cache:notaport/0", "redis://:***@cache:notaport/0"),
        ("redis://:hunter2@cache:99999/0", "redis://:***@cache:99999/0"),
        # IPv6 hosts are kept exactly as written
        ("redis://:hunter2@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("rediss://u:hunter2@[2001:DB8::1]/2", "rediss://u:***@[2001:DB8::1]/2"),
    ],
)
def test_mask_url_keeps_odd_ports_and_ipv6_hosts(url: str, expected: str) -> None:
    assert mask_url(url) == expected
