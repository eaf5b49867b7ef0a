"""Latency: fixed, uniform and lognormal (p50/p99), per endpoint and per fault rule.

The dispatcher only decides a delay (``Reply.delay_ms``, drawn from the seeded random
source); the transport acts it out.  So most tests read the decision and never sleep; one
checks that the live server really waits.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import requests
from helpers import QUERY, SUBMIT, client, submit_item

from mockserver import running
from mockserver.backend import Backend
from mockserver.config import Config, ConfigError
from mockserver.dispatch import Dispatcher
from mockserver.http import Incoming
from mockserver.latency import Latency, LatencyModel, parse_duration_ms, parse_latency_flag
from mockserver.serving import wsgi

BODY = b'{"requestParams":[{"imageFileUrl":"https://example.com/p.jpg","modelNum":"mod001","width":800,"height":800}]}'


def _dispatcher(**settings) -> Dispatcher:
    return Dispatcher(Backend(Config.from_mapping({"log_requests": False, "clock": "manual", **settings})))


def _submit(d: Dispatcher, prefer: str | None = None):
    headers = {"Content-Type": "application/json", **({"Prefer": prefer} if prefer else {})}
    return d.handle(Incoming.build("POST", SUBMIT, headers=headers, body=BODY))


@pytest.mark.parametrize(("text", "ms"), [("200ms", 200), ("1.5s", 1500), ("2", 2000), (".5s", 500), (250, 250)])
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", [
    "", "soon", "5 minutes", "-1ms", "601s", "1..", "lognormal", "lognormal:p50=1s",
    "lognormal:p50=1s,p99=2s,p75=1s", "\u0663s", "\u00b2ms", "1_000ms", "nan", "inf", "9" * 5000 + "ms",
    "1e3ms", "0x10ms", "\x0b5ms", "lognormal:p50=\u0663s,p99=5s",
])
def test_bad_spellings_say_what_is_expected(text):
    with pytest.raises(ValueError, match="latency|duration"):
        Latency.parse(text)


@pytest.mark.parametrize(
    ("spelling", "named"),
    [
        ("2s..1s", "second bound must not be below the first"),
        ("lognormal:p50=2s,p99=1s", "p99 must be at least p50"),
        ("lognormal:p50=2s,p99=3s,max=1s", "max must be at least p50"),
        ("lognormal:p50=1s,p50=2s,p99=3s", "p50 is given twice"),
    ],
)
def test_inconsistent_bounds_and_percentiles_are_refused(spelling: str, named: str) -> None:
    """A reversed range or percentiles is a typo: swapping them silently (as before issue 15)
    would run a test with a latency nobody wrote."""
    with pytest.raises(ValueError, match=named):
        Latency.parse(spelling)


def test_a_zero_median_is_almost_always_zero() -> None:
    assert Latency.parse("lognormal:p50=0ms,p99=1s").sample(0.5) < 1  # a zero median: almost always 0


def test_fixed_and_uniform():
    assert Latency.parse("120ms").sample(0.99) == 120
    uniform = Latency.parse("50ms..2s")
    assert uniform.sample(0.0) == 50 and uniform.sample(0.5) == pytest.approx(1025)
    assert all(50 <= uniform.sample(u / 100) <= 2000 for u in range(100))


def test_lognormal_has_the_asked_percentiles():
    """Inverse-CDF sampling: the draw at 0.5 is p50 and at 0.99 is p99, and the tail is long."""
    tail = Latency.parse("lognormal:p50=120ms,p99=2s")
    assert tail.sample(0.5) == pytest.approx(120)
    assert tail.sample(0.99) == pytest.approx(2000)
    draws = sorted(tail.sample((i + 0.5) / 10000) for i in range(10000))
    assert draws[5000] == pytest.approx(120, rel=0.01) and draws[9900] == pytest.approx(2000, rel=0.02)
    assert draws[-1] > 4000  # beyond p99: the long tail a retry budget must survive


def test_lognormal_max_caps_the_tail():
    assert Latency.parse("lognormal:p50=100ms,p99=1s,max=1.5s").sample(0.999999) == 1500


def test_per_endpoint_latency_is_decided_by_the_dispatcher():
    d = _dispatcher(latency={"query": "300ms", "submit": "20ms"})
    assert _submit(d).delay_ms == 20
    query = d.handle(Incoming.build("GET", QUERY, query={"taskId": "nope"}))
    assert query.delay_ms == 300
    assert d.handle(Incoming.build("GET", "/__admin/health")).delay_ms == 0  # admin is never slowed


def test_any_applies_where_an_endpoint_has_none():
    d = _dispatcher(latency={"any": "40ms", "query": "1ms"})
    assert _submit(d).delay_ms == 40


def test_same_seed_same_delays():
    d1, d2 = (_dispatcher(seed=5, latency="10ms..900ms") for _ in range(2))
    delays = [_submit(d1).delay_ms for _ in range(20)]
    assert delays == [_submit(d2).delay_ms for _ in range(20)] and len(set(delays)) > 10


def test_a_prefer_delay_wins_over_the_endpoint_latency():
    d = _dispatcher(latency="1s")
    assert _submit(d, prefer="delay=5").delay_ms == 5


def _rule(d: Dispatcher, rule: dict) -> None:
    added = d.handle(Incoming.build("POST", "/__admin/faults", headers={"Content-Type": "application/json"},
                                    body=json.dumps(rule).encode()))
    assert added.status == 201, added.body


@pytest.mark.parametrize(
    ("prefer", "rule", "delay_ms"),
    [
        # 0 is a delay of its own (no wait), not "none given": it wins over the endpoint's 300 ms
        ("delay=0", None, 0),
        (None, {"resCode": 501, "delayMs": 0}, 0),
        (None, {"resCode": 501, "latency": "0ms"}, 0),
        ("code=501, delay=0", None, 0),
        ("transport=http503, delay=0", None, 0),
        # a rule that gives no delay leaves the request's own, else the endpoint's latency
        ("delay=50", {"resCode": 501}, 50),
        (None, {"resCode": 501}, 300),
        (None, None, 300),
        ("delay=50", {"resCode": 501, "delayMs": 0}, 0),  # the rule's own delay, 0 included
    ],
)
def test_a_request_s_own_delay_wins_over_the_endpoint_latency_zero_included(prefer, rule, delay_ms):
    d = _dispatcher(latency="300ms")
    if rule is not None:
        _rule(d, rule)
    assert _submit(d, prefer=prefer).delay_ms == delay_ms
    entry = d.backend.journal(1)[0]
    assert entry["delayMs"] == delay_ms  # the journal says the same


def test_a_rule_without_a_delay_is_listed_with_the_schema_s_default():
    d = _dispatcher()
    _rule(d, {"resCode": 501})
    assert d.backend.faults()[0]["delayMs"] == 0


def test_fault_rule_latency_is_drawn_per_request():
    c = client(seed=3)
    added = c.post("/__admin/faults", json={"resCode": 500, "latency": "100ms..300ms"})
    assert added.status_code == 201 and added.get_json()["latency"] == "100ms..300ms"
    entries = []
    for _ in range(5):
        c.post(SUBMIT, json={"requestParams": [submit_item()]})
        entries.append(c.get("/__admin/requests?limit=1").get_json()["requests"][0])
    delays = [entry["delayMs"] for entry in entries]
    assert all(100 <= delay <= 300 for delay in delays) and len(set(delays)) > 1
    assert all(entry["resCode"] == 500 for entry in entries)


def test_a_bad_rule_latency_is_a_700_naming_it():
    answer = client().post("/__admin/faults", json={"resCode": 500, "latency": "eventually"}).get_json()
    assert answer["resCode"] == 700 and "latency" in answer["resMessage"]


def test_bad_config_latency_is_a_config_error():
    with pytest.raises(ConfigError, match="latency"):
        Backend(Config.from_mapping({"latency": "sometimes"}))
    with pytest.raises(ConfigError, match="latency"):
        Config.from_mapping({"latency": {"upload": "1s"}})


def test_latency_flag():
    assert parse_latency_flag("50ms..2s") == ("any", "50ms..2s")
    assert parse_latency_flag("query=lognormal:p50=1s,p99=5s") == ("query", "lognormal:p50=1s,p99=5s")
    assert parse_latency_flag("lognormal:p50=1s,p99=5s") == ("any", "lognormal:p50=1s,p99=5s")
    with pytest.raises(ValueError):
        parse_latency_flag("query=never")


def test_model_without_latency_is_falsy():
    assert not LatencyModel.from_config(None)


def test_the_live_server_waits_before_answering(monkeypatch: pytest.MonkeyPatch) -> None:
    """The submit is held for its latency, the admin API not at all: what the server slept is
    recorded, not timed (on a loaded machine an answer with no latency can take longer than one with)."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(wsgi, "time", SimpleNamespace(sleep=sleep))
    with running(latency={"submit": "150ms"}) as fake:
        started = time.perf_counter()
        answer = requests.post(fake.url + SUBMIT, json={"requestParams": [submit_item()]}, timeout=5)
        elapsed = time.perf_counter() - started
        assert slept == [0.15]
        requests.get(fake.url + "/__admin/health", timeout=5)
    assert answer.json()["success"] is True
    assert elapsed >= 0.15 and slept == [0.15]  # the health answer was not held
