"""Rate limits: token buckets per app_key and global, per endpoint, exact under concurrency.

Buckets fill on the fake's clock, so these tests exhaust a bucket, then advance the clock
instead of sleeping.  Exceeding a limit answers the documented 501 "rate limit exceed".
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import QUERY, SCENES, SUBMIT, client, submit_item
from redis_helpers import cleaned, fresh_prefix, redis_or_skip

from mockserver.backend import Backend
from mockserver.cli import _serve_args, build_config, main
from mockserver.config import Config, ConfigError
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.ratelimit import parse_rate
from mockserver.storage import open_storage


def _submit(c, app_key: str | None = None, headers: dict[str, str] | None = None) -> dict:
    url = SUBMIT + (f"?app_key={app_key}" if app_key else "")
    item = submit_item(imgBase64="", imageFileUrl="https://example.com/p.jpg")
    return c.post(url, json={"requestParams": [item]}, headers=headers or {}).get_json()


def _codes(c, n: int, **kwargs) -> list[int]:
    return [_submit(c, **kwargs)["resCode"] for _ in range(n)]


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("20/s", 20), ("1200/min", 20), ("36/h", 0.01), ("5", 5), (2.5, 2.5), (" 10 / second ", 10)],
)
def test_rate_spellings(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "20/x", "0/s", "-1/s", "1/s/s"])
def test_bad_rates_are_refused_with_the_spelling(text):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_burst_then_501_then_refill_on_the_clock():
    c = client(rate_limits=[{"rate": "20/s", "burst": 40}])
    codes = _codes(c, 45)
    assert codes[:40] == [200] * 40 and codes[40:] == [501] * 5
    refused = _submit(c)
    assert refused["resMessage"] == "rate limit exceed" and refused["success"] is False
    c.post("/__admin/clock", json={"advance": 1})  # one second at 20/s: 20 more tokens
    assert _codes(c, 21) == [200] * 20 + [501]


def test_a_bucket_never_holds_more_than_its_burst():
    c = client(rate_limits=[{"rate": 10, "burst": 3}])
    c.post("/__admin/clock", json={"advance": 3600})
    assert _codes(c, 4) == [200, 200, 200, 501]


def test_buckets_are_per_app_key():
    c = client(rate_limits=[{"rate": "1/h", "burst": 2}])
    assert _codes(c, 3, app_key="alpha") == [200, 200, 501]
    assert _codes(c, 2, app_key="beta") == [200, 200]  # its own bucket


def test_a_global_limit_counts_every_client():
    c = client(rate_limits=[{"rate": "1/h", "burst": 3, "scope": "global"}])
    assert _codes(c, 2, app_key="alpha") == [200, 200]
    assert _codes(c, 2, app_key="beta") == [200, 501]


def test_a_limit_on_one_endpoint_leaves_the_others_alone():
    c = client(rate_limits=[{"rate": "1/h", "burst": 1, "endpoint": "scenes"}])
    assert c.post(SCENES, json={}).get_json()["resCode"] == 200
    assert c.post(SCENES, json={}).get_json()["resCode"] == 501
    assert _codes(c, 3) == [200, 200, 200]


def test_all_or_nothing_across_limits():
    """A request refused by one bucket takes no token from the others."""
    c = client(rate_limits=[
        {"rate": "1/h", "burst": 5, "scope": "global"},
        {"rate": "1/h", "burst": 1, "scope": "app_key"},
    ])
    assert _codes(c, 3, app_key="alpha") == [200, 501, 501]
    assert _codes(c, 4, app_key="beta") == [200, 501, 501, 501]
    assert _codes(c, 1, app_key="gamma") == [200]
    assert _codes(c, 1, app_key="delta") == [200]  # 4 of the global 5 used so far
    assert _codes(c, 1, app_key="epsilon") == [200]
    assert _codes(c, 1, app_key="zeta") == [501]


def test_the_limit_comes_after_the_signature_check():
    """An unsigned call gets the gateway's signature error and costs the key no token."""
    c = client(app_keys={"k1": "s1"}, rate_limits=[{"rate": "1/h", "burst": 1}])
    for _ in range(3):
        answer = c.post(SUBMIT + "?app_key=k1", json={"requestParams": [submit_item()]}).get_json()
        assert answer.get("type") == "ISV"  # gateway envelope, not 501


def test_the_limit_wins_over_injected_faults_and_is_journaled():
    c = client(rate_limits=[{"rate": "1/h", "burst": 1}])
    assert _codes(c, 1) == [200]
    assert _submit(c, headers={"Prefer": "code=1000"})["resCode"] == 501
    entry = c.get("/__admin/requests?limit=1").get_json()["requests"][0]
    assert entry["resCode"] == 501 and "burst 1" in entry["rateLimit"]


def test_query_counts_against_an_any_endpoint_limit():
    c = client(rate_limits=[{"rate": "1/h", "burst": 2}])
    task = _submit(c)["data"]["result"]["taskId"]
    assert c.get(QUERY, query_string={"taskId": task}).get_json()["resCode"] == 200
    assert c.get(QUERY, query_string={"taskId": task}).get_json()["resCode"] == 501


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_exact_under_concurrency(shared):
    """16 threads race for a bucket of 40: exactly 40 requests get through, whatever the timing."""
    config = Config(clock="manual", log_requests=False, rate_limits=({"rate": "1/h", "burst": 40},))
    if shared:
        for prefix in cleaned(fresh_prefix()):
            _race(config.replace(state=redis_or_skip(), state_prefix=prefix))
    else:
        _race(config)


def _race(config: Config) -> None:
    dispatcher = Dispatcher(Backend(config, store=open_storage(config)))
    body = b'{"requestParams":[{"imageFileUrl":"https://example.com/p.jpg","modelNum":"mod001","width":800,"height":800}]}'
    request = Incoming.build("POST", SUBMIT, headers={"Content-Type": "application/json"}, body=body)
    start = threading.Barrier(16)

    def burst(_: int) -> list[int | None]:
        start.wait()
        return [dispatcher.handle(request).res_code for _ in range(10)]

    with ThreadPoolExecutor(16) as pool:
        codes = [code for batch in pool.map(burst, range(16)) for code in batch]
    assert codes.count(200) == 40 and codes.count(501) == 120


def test_cli_flags_become_limits():
    args = ["--rate-limit", "20/s", "--global-rate-limit", "100/min@submit", "--burst", "40"]
    parser = argparse.ArgumentParser()  # the serve command's flags, without starting a server
    _serve_args(parser)
    config = build_config(parser.parse_args(args))
    assert [dict(limit) for limit in config.rate_limits] == [
        {"rate": "20/s", "scope": "app_key", "endpoint": "any", "burst": 40},
        {"rate": "100/min", "scope": "global", "endpoint": "submit", "burst": 40},
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate-limit", "lots"], "--rate-limit 'lots'"),
        # the flag as typed, not the rate_limits[0].endpoint it became
        (["--rate-limit", "5/s@nowhere"], "--rate-limit '5/s@nowhere': ENDPOINT after '@' must be one of submit"),
        (["--global-rate-limit", "5/s@Submit"], "--global-rate-limit '5/s@Submit': ENDPOINT"),
        (["--burst", "4"], "--burst"),
        (["--rate-limit", "5/s", "--burst", "0.5"], "burst"),
    ],
)
def test_bad_flags_stop_with_a_message(argv, message, capsys):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_config_is_a_config_error():
    with pytest.raises(ConfigError, match="rate"):
        Backend(Config.from_mapping({"rate_limits": [{"rate": "often"}]}))
