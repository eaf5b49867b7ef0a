"""HTTPS with bgmock's local CA: ``bgmock ca``, ``serve --tls`` in every mode, clients built like
the vendor's samples in Python, Java and Node, transport faults over TLS, and bad ``--tls-*``
input answered with one line and exit 2."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import trustme
from tls_support import CLIENTS, bgmock_exe, env_with, raw_when_up, serve, tls_exchange

from mockserver import cli, running
from mockserver.config import Config

pytest_plugins = ["pytester"]
KEY, SECRET = "K", "S"
SUBMIT = "/rest/ai/image/background/generation/scenario"
QUERY = "/rest/ai/image/background/generation/query"
ITEM = {"modelNum": "mod001", "imageFileUrl": "https://cdn.example.com/p/mug.jpg", "width": 800, "height": 800,
        "imageNum": 2}
RAW_SUBMIT = (f"POST {SUBMIT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              "Content-Length: 2\r\n\r\n{}").encode()


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# -- bgmock ca ---------------------------------------------------------------------------------
def test_ca_prints_one_line_the_pem_path_and_keeps_the_same_ca(tmp_path, capsys):
    code, out, err = run_main(capsys, "ca", "--tls-dir", str(tmp_path / "ca"))
    assert code == 0 and err == ""
    assert out.count("\n") == 1
    path = out.strip()
    assert path == str((tmp_path / "ca" / "ca.pem").resolve())
    first = Path(path).read_bytes()
    assert first.startswith(b"-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(tmp_path / "ca").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "ca" / "ca-key.pem").st_mode) == 0o600
    from mockserver.serving import tls

    tls._AUTHORITIES.clear()  # as a new process would: read from disk
    code, again, _ = run_main(capsys, "ca", "--tls-dir", str(tmp_path / "ca"))
    assert again == out and Path(path).read_bytes() == first


def test_ca_defaults_to_the_user_data_directory(tmp_path):
    done = subprocess.run([bgmock_exe(), "ca"], env=env_with(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'bgmock' / 'ca.pem'}\n"


def test_processes_starting_together_share_one_ca(tmp_path):
    procs = [subprocess.Popen([bgmock_exe(), "ca", "--tls-dir", str(tmp_path)], env=env_with(tmp_path),
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outs = {p.communicate(timeout=60)[0] for p in procs}
    assert outs == {f"{tmp_path / 'ca.pem'}\n"}
    key_file = (tmp_path / "ca-key.pem").read_bytes()
    assert (tmp_path / "ca.pem").read_bytes() in key_file  # the published cert is the kept key's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca-key.pem", "ca.pem"]


def test_ca_help_says_how_each_ecosystem_trusts_it(capsys):
    code, out, _ = run_main(capsys, "ca", "--help")
    assert code == 0
    for needle in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "bgmock ca --java", "--cacert"):
        assert needle in out


def test_ca_java_writes_a_pkcs12_trust_store_and_prints_the_flags(tmp_path, capsys):
    code, out, _ = run_main(capsys, "ca", "--java", "--tls-dir", str(tmp_path))
    store = tmp_path.resolve() / "truststore.p12"
    assert code == 0
    assert out == (f"-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStorePassword=bgmock "
                   "-Djavax.net.ssl.trustStoreType=PKCS12\n")
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    loaded = pkcs12.load_pkcs12(store.read_bytes(), b"bgmock")
    trusted = [entry.certificate.public_bytes(Encoding.PEM) for entry in loaded.additional_certs]
    assert trusted == [(tmp_path / "ca.pem").read_bytes()]


def test_a_ca_key_open_to_others_is_refused(tmp_path, capsys):
    run_main(capsys, "ca", "--tls-dir", str(tmp_path))
    os.chmod(tmp_path / "ca-key.pem", 0o644)
    from mockserver.serving import tls

    tls._AUTHORITIES.clear()
    code, out, err = run_main(capsys, "ca", "--tls-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "chmod 600" in err


# -- clients built like the vendor's samples ---------------------------------------------------
def _served_flow(tmp_path, command: list[str], env: dict[str, str]) -> str:
    with serve("--tls", "--app-key", f"{KEY}:{SECRET}", "--task-duration", "0.3", "--tls-dir", str(tmp_path),
               data_home=tmp_path) as (scheme, port, _):
        assert scheme == "https"
        done = subprocess.run([*command, f"127.0.0.1:{port}", KEY, SECRET], env=env, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _assert_two_images(out: str) -> None:
    words = out.split()
    assert words[:3] == ["finished", "2", "images"], out
    assert all(int(size) > 1000 for size in words[3:]), out


def test_python_vendor_sample_runs_the_whole_signed_flow_over_https(tmp_path):
    env = env_with(tmp_path, REQUESTS_CA_BUNDLE=str(tmp_path / "ca.pem"))
    _assert_two_images(_served_flow(tmp_path, [sys.executable, str(CLIENTS / "vendor_sample.py")], env))


@pytest.mark.skipif(not shutil.which("javac"), reason="needs a JDK (javac); CI has Java 17")
def test_java_vendor_sample_trusts_the_ca_through_the_pkcs12_store(tmp_path, capsys):
    build = tmp_path / "classes"
    subprocess.run(["javac", "-d", str(build), str(CLIENTS / "VendorSample.java")], check=True, timeout=180)
    code, flags, _ = run_main(capsys, "ca", "--java", "--tls-dir", str(tmp_path))
    assert code == 0
    out = _served_flow(tmp_path, ["java", *flags.split(), "-cp", str(build), "VendorSample"], env_with(tmp_path))
    _assert_two_images(out)


@pytest.mark.skipif(not shutil.which("node"), reason="needs Node.js; CI has Node 20")
def test_node_vendor_sample_trusts_the_ca_through_node_extra_ca_certs(tmp_path):
    env = env_with(tmp_path, NODE_EXTRA_CA_CERTS=str(tmp_path / "ca.pem"))
    _assert_two_images(_served_flow(tmp_path, ["node", str(CLIENTS / "vendor_sample.mjs")], env))


def test_a_client_that_does_not_trust_the_ca_is_refused(tmp_path):
    with serve("--tls", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _), \
            pytest.raises(requests.exceptions.SSLError):
        requests.post(f"https://127.0.0.1:{port}{SUBMIT}", json={}, timeout=10)


@pytest.mark.parametrize(
    ("reason", "hint"),
    [("TLSV1_ALERT_UNKNOWN_CA", "the client does not trust bgmock's CA"),  # Python, curl: an alert
     ("UNEXPECTED_EOF_WHILE_READING", "a client that does not trust bgmock's CA may say so only on its own side")],
)
def test_the_log_line_of_a_failed_handshake_points_at_bgmock_ca(reason: str, hint: str) -> None:
    """Node hangs up without an alert on a certificate it does not trust: the log line's
    hint must not need the alert."""
    from types import SimpleNamespace

    from mockserver.serving.tls import _reason

    said = _reason(SimpleNamespace(reason=reason))
    assert said.startswith(reason) and hint in said and "bgmock ca --help" in said


# -- the server's ports and modes --------------------------------------------------------------
def test_plain_http_on_the_https_port_is_told_to_use_https(tmp_path):
    with serve("--tls", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _):
        answers = [requests.post(f"http://127.0.0.1:{port}{SUBMIT}", data=body, timeout=10)
                   for body in (b"{}", b"x" * (2 << 20))]  # a big unread body must not reset the answer away
    for answer in answers:
        assert answer.status_code == 400
        assert "use an https:// URL" in answer.json()["message"]


def test_tls_port_serves_https_beside_http(tmp_path):
    ca = str(tmp_path / "ca.pem")
    with serve("--tls", "--tls-port", "0", "--tls-dir", str(tmp_path), data_home=tmp_path) as (scheme, port, proc):
        assert scheme == "http"
        tls_port = int(re.search(r" and https://127\.0\.0\.1:(\d+) ", proc.bgmock_line)[1])
        plain = requests.post(f"http://127.0.0.1:{port}{QUERY}", json={"taskId": "x"}, timeout=10)
        secure = requests.post(f"https://127.0.0.1:{tls_port}{QUERY}", json={"taskId": "x"}, verify=ca, timeout=10)
    assert plain.status_code == secure.status_code == 200
    assert plain.json()["resCode"] == secure.json()["resCode"] == 700


def test_result_and_cover_urls_use_the_scheme_the_client_used(tmp_path):
    with running(tls=True, tls_dir=str(tmp_path)) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        plain_url = fake.url.replace("https://", "http://")
        for base, verify in ((fake.url, fake.ca), (plain_url, True)):
            task = requests.post(base + SUBMIT, json={"requestParams": [ITEM]}, verify=verify, timeout=10).json()
            task_id = task["data"]["result"]["taskId"]
            data = requests.post(base + QUERY, json={"taskId": task_id}, verify=verify, timeout=10).json()["data"]
            urls = [u for r in data["taskResult"] for u in r["imageUrlList"]]
            assert urls and all(u.startswith(base + "/__bgmock/results/") for u in urls)
            image = requests.get(urls[0], verify=verify, timeout=10)
            assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
            scenes = requests.post(base + "/rest/ai/image/background/generation/scene/query", json={"count": 1},
                                   verify=verify, timeout=10).json()["data"]
            assert scenes[0]["coverUrl"].startswith(base + "/__bgmock/covers/")


def test_workers_serve_tls_with_granian(tmp_path):
    pytest.importorskip("granian")
    with serve("--tls", "--server", "granian", "--tls-dir", str(tmp_path), data_home=tmp_path) as (scheme, port, _):
        assert scheme == "https"
        deadline = time.monotonic() + 30  # granian announces before its worker listens
        while True:
            try:
                answer = requests.post(f"https://127.0.0.1:{port}{SUBMIT}", json={"requestParams": [ITEM]},
                                       verify=str(tmp_path / "ca.pem"), timeout=20).json()
                break
            except requests.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    assert answer["success"] is True


def test_plain_http_to_granian_s_https_port_gets_what_the_docs_say(tmp_path):
    """granian reads the connection itself (the fake never sees it): no JSON 400 as from the
    one-process servers, but a TLS alert (fatal decode_error) and a close, as docs/tls-and-proxy.md says."""
    pytest.importorskip("granian")
    with serve("--tls", "--server", "granian", "--tls-dir", str(tmp_path), data_home=tmp_path) as (_, port, _):
        answer = raw_when_up(port, b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer == b"\x15\x03\x03\x00\x02\x02\x32"
    docs = (Path(__file__).parents[2] / "docs" / "tls-and-proxy.md").read_text(encoding="utf-8")
    assert "`15 03 03 00 02 02 32`, a fatal `decode_error`" in docs


def test_a_users_own_certificate_pair_is_served(tmp_path):
    own = trustme.CA()
    leaf = own.issue_cert("127.0.0.1", "localhost")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "own-ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    own.cert_pem.write_to_path(str(ca))
    with serve("--tls", "--tls-cert", str(cert), "--tls-key", str(key), data_home=tmp_path) as (_, port, _):
        answer = requests.post(f"https://127.0.0.1:{port}{QUERY}", json={"taskId": "x"}, verify=str(ca), timeout=10)
    assert answer.status_code == 200


def test_a_stalled_handshake_does_not_block_other_clients(tmp_path):
    with running(tls=True, tls_dir=str(tmp_path)) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as stalled, \
                socket.create_connection(("127.0.0.1", port)):  # connected, never sends a byte
            stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
            answer = requests.post(fake.url + QUERY, json={"taskId": "x"}, verify=fake.ca, timeout=10)
    assert answer.status_code == 200


# -- transport faults over TLS -----------------------------------------------------------------
@pytest.fixture
def tls_fake(tmp_path):
    with running(tls=True, tls_dir=str(tmp_path), hang_s=0.2, dribble_s=0.2) as fake:
        yield fake


def _port(fake) -> int:
    return int(fake.url.rsplit(":", 1)[1])


def test_reset_over_tls_is_a_tcp_reset(tls_fake):
    tls_fake.fault("reset")
    assert tls_exchange(_port(tls_fake), tls_fake.ca, RAW_SUBMIT) == ["RST"]


def test_empty_over_tls_closes_cleanly_with_no_answer(tls_fake):
    tls_fake.fault("empty")
    assert tls_exchange(_port(tls_fake), tls_fake.ca, RAW_SUBMIT) == ["close_notify", "EOF"]
    tls_fake.fault("empty")
    with pytest.raises(requests.ConnectionError, match="without response"):
        requests.post(tls_fake.url + SUBMIT, json={}, verify=tls_fake.ca, timeout=10)


def test_truncated_over_tls_is_a_short_body(tls_fake):
    tls_fake.fault("truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.post(tls_fake.url + SUBMIT, json={}, verify=tls_fake.ca, timeout=10)


@pytest.mark.parametrize("kind", ["timeout", "http502", "malformed", "dribble"])
def test_other_faults_over_tls_match_plain_http(tls_fake, kind):
    outcomes = []
    for base, verify in ((tls_fake.url, tls_fake.ca), (tls_fake.url.replace("https", "http"), True)):
        tls_fake.fault(kind)
        try:
            answer = requests.post(base + SUBMIT, json={}, verify=verify, timeout=10)
            outcomes.append((answer.status_code, _without_ids(answer.content)))
        except requests.ConnectionError as exc:  # timeout: hang_s, then the connection drops
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]


def _without_ids(body: bytes) -> object:
    """An answer with its per-request IDs left out (they differ from call to call)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return {k: v for k, v in data.items() if k not in ("requestId", "request_id", "_trace_id_")}


# -- the pytest plugin ---------------------------------------------------------------------------
PLUGIN_TEST = """
import pytest, requests

@pytest.mark.bgmock(tls=True)
def test_https(bgmock):
    assert bgmock.url.startswith("https://127.0.0.1:")
    answer = requests.post(bgmock.url + "/rest/ai/image/background/generation/scene/query", json={},
                           verify=bgmock.ca)
    assert answer.json()["data"][0]["coverUrl"].startswith(bgmock.url + "/__bgmock/covers/")

def test_plain_next(bgmock):
    assert bgmock.url.startswith("http://127.0.0.1:")
"""


def test_plugin_marker_tls_gives_an_https_url_and_the_ca(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    pytester.makepyfile(PLUGIN_TEST)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert (tmp_path / "bgmock" / "ca.pem").exists()


def test_plugin_session_setting_tls(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("BGMOCK_TLS", "1")
    pytester.makepyfile("""
def test_https(bgmock):
    assert bgmock.url.startswith("https://")
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# -- bad --tls-* input: one line, exit 2 -----------------------------------------------------------
def _pair(tmp_path):
    ca = trustme.CA()
    one, two = ca.issue_cert("localhost"), ca.issue_cert("localhost")
    cert, other_key = tmp_path / "cert.pem", tmp_path / "other-key.pem"
    one.cert_chain_pems[0].write_to_path(str(cert))
    two.private_key_pem.write_to_path(str(other_key))
    return cert, other_key


@pytest.mark.parametrize("case", ["missing cert", "missing key", "mismatch", "cert without key", "key without cert",
                                  "not pem", "tls-port without tls"])
def test_bad_tls_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    cert, other_key = _pair(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key\n")
    flags = {
        "missing cert": ["--tls", "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(other_key)],
        "missing key": ["--tls", "--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.pem")],
        "mismatch": ["--tls", "--tls-cert", str(cert), "--tls-key", str(other_key)],
        "cert without key": ["--tls", "--tls-cert", str(cert)],
        "key without cert": ["--tls", "--tls-key", str(other_key)],
        "not pem": ["--tls", "--tls-cert", str(cert), "--tls-key", str(junk)],
        "tls-port without tls": ["--tls-port", "0"],
    }[case]
    expected = {
        "missing cert": "no such file", "missing key": "no such file", "mismatch": "does not match",
        "cert without key": "--tls-cert needs --tls-key", "key without cert": "--tls-key needs --tls-cert",
        "not pem": "--tls-key", "tls-port without tls": "give --tls too",
    }[case]
    code, out, err = run_main(capsys, "serve", "--port", "0", "--tls-dir", str(tmp_path), *flags)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("bgmock: ") and expected in err, err


@pytest.mark.parametrize("which", ["--tls-cert", "--tls-key"])
def test_a_pem_file_saved_as_utf16_is_named_with_its_encoding(tmp_path, capsys, which):
    leaf = trustme.CA().issue_cert("localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    wide = cert if which == "--tls-cert" else key
    wide.write_bytes(wide.read_text(encoding="ascii").encode("utf-16"))  # PowerShell 5's `... > key.pem`
    code, out, err = run_main(capsys, "serve", "--port", "0", "--tls-dir", str(tmp_path), "--tls",
                              "--tls-cert", str(cert), "--tls-key", str(key))
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert f"bgmock: {which} {wide} is not UTF-8 text: it is UTF-16" in err and "save it as UTF-8" in err, err


def test_tls_settings_in_a_config_file_are_checked_like_flags(tmp_path, capsys):
    settings = tmp_path / "bgmock.json"
    settings.write_text(json.dumps({"tls": True, "tls_cert": str(tmp_path / "nope.pem"), "tls_key": "k.pem"}))
    code, _, err = run_main(capsys, "serve", "--config", str(settings))
    assert code == 2 and "no such file" in err


def test_config_defaults_keep_tls_off():
    config = Config()
    assert (config.tls, config.proxy, config.tls_port, config.tls_hosts) == (False, False, None, ())
