"""A client's crash is reported at the line of the user's code, not inside the library it called.

A new user's trial saw ``crashed with RemoteDisconnected: … (at client.py:640)``: that was
Python's ``http/client.py``, and their adapter, ``myclient.py``, was nowhere in the report. The
kit now names the innermost frame of the user's code (not the standard library, not an
installed package, not bgmock's own kit), relative to the current directory when under it.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from contract_clients import BOUNDS

from contracts import run
from contracts.adapter import describe_exception

#: An adapter on http.client alone that lets the library's exceptions escape: a reset crashes
#: inside http/client.py (or socket.py), called from the line marked ``# the call``.
MYCLIENT = '''
    import hashlib
    import hmac
    import http.client
    import json
    import time
    from urllib.parse import urlencode, urlsplit


    class Adapter:
        def __init__(self, base_url: str, app_key: str, app_secret: str) -> None:
            self.address, self.key, self.secret = urlsplit(base_url), app_key, app_secret

        def submit(self, params: dict) -> str:
            stamp = str(int(time.time() * 1000))
            sign = hmac.new(self.secret.encode(), (self.secret + stamp).encode(), hashlib.sha256).hexdigest()
            query = urlencode({"partner_id": "aidge", "sign_method": "sha256", "sign_ver": "v2",
                               "app_key": self.key, "timestamp": stamp, "sign": sign.upper()})
            conn = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=1.5)
            body = json.dumps({"requestParams": [params]})
            conn.request("POST", "/rest/ai/image/background/generation/scenario?" + query, body,
                         {"Content-Type": "application/json"})
            answer = conn.getresponse().read()  # the call
            return json.loads(answer)["data"]["result"]["taskId"]


    def make_adapter(base_url: str, app_key: str, app_secret: str) -> Adapter:
        return Adapter(base_url, app_key, app_secret)


    def parse(text: str) -> object:
        return json.loads(text)  # the parse
'''


def _line(marker: str) -> int:
    lines = textwrap.dedent(MYCLIENT).splitlines()
    return next(n for n, text in enumerate(lines, 1) if f"# {marker}" in text)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user's project folder, the current directory, with ``adapters/myclient.py`` in it."""
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "myclient.py").write_text(textwrap.dedent(MYCLIENT), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "adapters"))
    yield tmp_path
    sys.modules.pop("myclient", None)


def _myclient() -> ModuleType:
    return importlib.import_module("myclient")


def _raised(call: Any) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the exception is what is looked at
        return exc
    raise AssertionError("no exception")


def test_a_crash_inside_the_stdlib_names_the_user_s_line_relative_to_the_cwd(project: Path) -> None:
    exc = _raised(lambda: _myclient().parse("{"))
    assert describe_exception(exc).endswith(f" (at adapters/myclient.py:{_line('the parse')})"), describe_exception(exc)


def test_outside_the_cwd_the_path_is_absolute(project: Path, tmp_path_factory: pytest.TempPathFactory,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _raised(lambda: _myclient().parse("{"))
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    mine = (project / "adapters" / "myclient.py").resolve()
    assert describe_exception(exc).endswith(f" (at {mine}:{_line('the parse')})"), describe_exception(exc)


def test_without_a_frame_of_the_user_s_the_library_is_named_by_its_import_path() -> None:
    exc = _raised(lambda: json.loads("{"))
    assert exc.__traceback__ is not None
    only_the_library = exc.with_traceback(exc.__traceback__.tb_next.tb_next)  # drop this test's frames
    assert " (at json/" in describe_exception(only_the_library), describe_exception(only_the_library)


def test_the_kit_s_report_names_the_adapter_s_line_for_a_reset(project: Path) -> None:
    result = run(_myclient().make_adapter, only="C9", examples=10, derandomize=True, **BOUNDS)
    crashes = [f.detail for f in result.verdict("C9").failures if f.title == "reset: crashed"]
    assert crashes, result.text()
    assert f"(at adapters/myclient.py:{_line('the call')})" in crashes[0], crashes[0]
    assert "client.py:" not in crashes[0].replace("myclient.py:", ""), crashes[0]
