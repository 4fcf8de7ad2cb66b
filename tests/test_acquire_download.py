"""The retry policy of downloads: Retry-After in each of its forms, capped by the policy."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.mark.parametrize(
    "header, expected",
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("2.5", 2.5),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # RFC 9110 IMF-fixdate, 30 s after `now`
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:10 2015", 10.0),  # obsolete asctime form, GMT by definition
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # a date in the past: retry at once
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_parser(header, expected):
    from soilsat.acquire.download import retry_after_seconds

    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC).timestamp()
    assert retry_after_seconds(header, now=now) == (None if expected is None else pytest.approx(expected))


def test_retry_after_is_capped_by_the_policy():
    from soilsat.acquire.download import RetryPolicy

    policy = RetryPolicy(
        max_tries=6, base_delay_s=2.0, max_delay_s=10.0, timeout_s=60.0, quota_wait_s=None, quota_tries=0
    )
    assert policy.delay(0, retry_after=3600.0) == 10.0 and policy.delay(5, retry_after=2.0) == 2.0
