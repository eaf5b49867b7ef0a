"""A running fake that adopts other settings (``Handle.configure``, the plugin's markers) uses
them from the next request on, in every layer: the transport faults' timings, the Host guard and
the secrets kept out of the journal (each was once fixed at start in the live mode)."""

from __future__ import annotations

import json

import pytest
import requests

import mockserver
from tests.helpers import SUBMIT, submit_item

BODY = {"requestParams": json.dumps([submit_item()])}


def test_a_configured_hang_s_is_the_one_a_timeout_fault_holds_for() -> None:
    """(``dribble_s`` is read in the same place, the WSGI host's settings.)"""
    with mockserver.running() as fake:
        fake.configure(hang_s=0.5)
        fake.fault("timeout")
        # with the start-up hang_s (30 s) this call would end in ReadTimeout after 10 s
        with pytest.raises(requests.ConnectionError) as caught:
            requests.post(fake.url + SUBMIT, json=BODY, timeout=10)
        assert not isinstance(caught.value, requests.ReadTimeout)


def test_a_configured_allowed_host_is_answered() -> None:
    with mockserver.running() as fake:
        assert requests.get(fake.url + "/__admin/health", headers={"Host": "dev.test"}, timeout=5).status_code == 403
        fake.configure(allow_hosts=["dev.test"])
        assert requests.get(fake.url + "/__admin/health", headers={"Host": "dev.test"}, timeout=5).status_code == 200


def test_a_configured_secret_is_kept_out_of_the_journal() -> None:
    secret = "s3cr3t-admin-token-of-this-test"
    with mockserver.running() as fake:
        fake.configure(admin_token=secret)
        titled = {"requestParams": json.dumps([submit_item(productTitle=f"shoe {secret}")])}  # the journal keeps titles
        requests.post(fake.url + SUBMIT, json=titled, timeout=5)
        entries = fake.requests()
        assert entries and entries[-1]["resCode"] == 200 and secret not in json.dumps(entries), entries


def test_journal_numbers_go_on_across_new_settings() -> None:
    """A reader of "entries after N" must not see a number twice after a configure()."""
    with mockserver.running() as fake:
        requests.post(fake.url + SUBMIT, json=BODY, timeout=5)
        (first,) = [entry["id"] for entry in fake.requests()]
        fake.configure(hang_s=1)  # new settings start afresh: the journal is emptied, not renumbered
        requests.post(fake.url + SUBMIT, json=BODY, timeout=5)
        (second,) = [entry["id"] for entry in fake.requests()]
        assert second > first


def test_a_body_cap_above_the_live_fakes_start_is_refused_and_a_lower_one_works() -> None:
    """The live server sized its buffers at start: a higher cap would cut bodies at the old one and
    answer them as broken JSON, so it is refused with what to do instead."""
    from mockserver.config import ConfigError

    with mockserver.running(max_body_bytes=4096) as fake:
        with pytest.raises(ConfigError, match=r"max_body_bytes: 1048576 is above the 4096 this live fake started"):
            fake.configure(max_body_bytes=1 << 20)
        fake.configure(max_body_bytes=1024)
        big = {"requestParams": json.dumps([submit_item(productTitle="x" * 2000)])}
        answer = requests.post(fake.url + SUBMIT, json=big, timeout=5).json()
        assert answer["resCode"] == 700 and "larger than the 1024 bytes" in answer["resMessage"], answer


def test_a_request_is_journaled_under_the_settings_it_was_answered_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configure() landing in the middle of a request: the request's entry is still redacted
    with the settings it began under (it once took the new redactor, and the old token showed)."""
    old, new = "old-admin-token-of-this-test", "new-admin-token-of-this-test"
    with mockserver.running(admin_token=old) as fake:
        rules = fake.backend.requests
        real = rules.submit

        def submit_then_reconfigure(*args: object, **kwargs: object) -> object:
            fake.configure(admin_token=new)  # as another thread would, mid-request
            return real(*args, **kwargs)

        monkeypatch.setattr(rules, "submit", submit_then_reconfigure)
        titled = {"requestParams": json.dumps([submit_item(productTitle=f"shoe {old}")])}
        headers = {"X-Bgmock-Admin-Token": old}
        requests.post(fake.url + SUBMIT, json=titled, headers=headers, timeout=5)
        assert old not in json.dumps(fake.requests())
