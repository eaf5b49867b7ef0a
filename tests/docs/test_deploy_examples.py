"""The deployment examples (docs' ```yaml blocks, examples/**/*.yaml) are valid as far as this
suite can tell without Docker or Kubernetes: each parses as YAML, and each ``bgmock serve``
command line in them parses with bgmock's own argument parser into valid settings.

A new user's trial found the compose example's ``--admin-token $$BGMOCK_ADMIN_TOKEN``: with the
variable unset the command became ``--admin-token --state …`` and every fake stopped at the
argument parser. A variable in a compose command must be compose's required form
(``${NAME:?message}``, which stops ``docker compose up`` with the message); in a Kubernetes
manifest, ``$(NAME)`` must be one of the container's ``env`` (else Kubernetes leaves it as
written). The same trial found the fakes starting before Redis (exit 2, and no restart): a
compose service whose fake uses a Redis service waits for it to be healthy and restarts.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_blocks import DOCS, ROOT

from mockserver import cli
from mockserver.config import ConfigError

FENCE = re.compile(r"^```yaml\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
NGINX_FENCE = re.compile(r"^```nginx\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMPOSE_REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")
K8S_VAR = re.compile(r"\$\((\w+)\)")
TOKEN = "a-token-of-24-characters"  # what the variable holds when it is set


@dataclass
class Source:
    where: str
    text: str


def _sources() -> list[Source]:
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Source(f"{doc}:{line}", match.group(1)))
    for path in sorted((ROOT / "examples").rglob("*.y*ml")):
        found.append(Source(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return found


SOURCES = _sources()


def _documents(source: Source) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(source.text) if d is not None]


def _compose_files() -> list[tuple[str, dict[str, Any]]]:
    return [(s.where, d) for s in SOURCES for d in _documents(s) if "services" in d]


def _k8s_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, the Deployment, one of its containers)."""
    return [
        (s.where, d, c) for s in SOURCES for d in _documents(s) if d.get("kind") == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def _serve_argv(words: list[str]) -> list[str] | None:
    """The flags of a ``bgmock serve`` in a command (a shell's ``-c`` string looked into)."""
    for at, word in enumerate(words):
        if Path(word).name == "bgmock" and words[at + 1 : at + 2] == ["serve"]:
            rest = words[at + 2 :]
            return rest[: rest.index("&&")] if "&&" in rest else rest
        if word == "-c" and at + 1 < len(words):
            found = _serve_argv(shlex.split(words[at + 1]))
            if found is not None:
                return found
    return None


def _check_serve(where: str, argv: list[str]) -> None:
    parser = cli.Parser(prog="bgmock serve")
    cli._serve_args(parser)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: bgmock serve {shlex.join(argv)}: {err.getvalue().strip()}")
    try:
        config = cli.build_config(args)
    except ConfigError as exc:
        pytest.fail(f"{where}: bgmock serve {shlex.join(argv)}: {exc}")
    assert config.admin_token or config.host in ("127.0.0.1", "localhost", "::1"), f"{where}: open beyond loopback"


def _compose_commands(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else shlex.join(command)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.where)
def test_each_yaml_example_parses(source: Source) -> None:
    assert _documents(source), f"{source.where}: no YAML document"


def test_the_compose_file_and_the_kubernetes_manifest_are_found() -> None:
    assert any(where.startswith("docs/load-and-workers.md:") for where, _ in _compose_files()), SOURCES
    assert any(d["spec"]["replicas"] > 1 for _, d, c in _k8s_containers() if c.get("command") == ["bgmock"])


@pytest.mark.parametrize("where,compose", _compose_files(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_compose_file_s_fakes_get_their_flags_and_wait_for_redis(where: str, compose: dict[str, Any]) -> None:
    services = compose["services"]
    fakes = 0
    for name, service in services.items():
        command = _compose_commands(service)
        bare = re.sub(COMPOSE_REQUIRED, "", command)
        assert "$" not in bare, f"{where}: {name}: a variable that may be unset, not ${{NAME:?message}}: {command!r}"
        argv = _serve_argv(shlex.split(COMPOSE_REQUIRED.sub(TOKEN, command)))
        if argv is None:
            continue
        fakes += 1
        _check_serve(f"{where}: {name}", argv)
        state = argv[argv.index("--state") + 1] if "--state" in argv else ""
        redis = re.match(r"rediss?://(?:[^@/]*@)?([^:/]+)", state)
        if redis and redis.group(1) in services:
            host = redis.group(1)
            depends = service.get("depends_on", {})
            assert isinstance(depends, dict) and depends.get(host, {}).get("condition") == "service_healthy", (
                f"{where}: {name} does not wait for a healthy {host}: depends_on {depends!r}")
            assert "healthcheck" in services[host], f"{where}: {host} has no healthcheck to wait for"
            assert str(service.get("restart", "no")).startswith(("on-failure", "always", "unless-stopped")), (
                f"{where}: {name}: a fake that exits 2 at start stays down (restart: {service.get('restart')!r})")
    assert fakes, f"{where}: no bgmock serve in a compose file"


@pytest.mark.parametrize("where,deployment,container", _k8s_containers(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_kubernetes_container_s_bgmock_command_parses(where: str, deployment: dict[str, Any],
                                                        container: dict[str, Any]) -> None:
    words = [*container.get("command", []), *container.get("args", [])]
    argv = _serve_argv(words)
    if argv is None:
        return  # not a fake (Redis)
    declared = {e["name"] for e in container.get("env", [])}
    used = {m for w in argv for m in K8S_VAR.findall(w)}
    assert used <= declared, f"{where}: $({', '.join(sorted(used - declared))}) is not in the container's env"
    _check_serve(where, [K8S_VAR.sub(TOKEN, w) for w in argv])
    services = [d for s in SOURCES for d in _documents(s) if d.get("kind") == "Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert any(s["spec"]["selector"].items() <= labels.items() for s in services), f"{where}: no Service in front"


def _nginx_confs() -> list[Source]:
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for match in NGINX_FENCE.finditer(text):
            found.append(Source(f"{doc}:{text.count(chr(10), 0, match.start()) + 1}", match.group(1)))
    return found


@pytest.mark.parametrize("where,compose", _compose_files(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_compose_file_s_load_balancer_waits_for_the_fakes_and_restarts(where: str, compose: dict[str, Any]) -> None:
    """nginx stops at start when a fake is not yet in Docker's DNS ("host not found in upstream"):
    it must be started again, and after the fakes' containers."""
    services = compose["services"]
    for name, service in services.items():
        if not str(service.get("image", "")).startswith("nginx"):
            continue
        assert str(service.get("restart", "no")) in ("always", "unless-stopped") or str(
            service.get("restart", "")).startswith("on-failure"), f"{where}: {name} has no restart policy"
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict) and depends, f"{where}: {name}: depends_on without conditions: {depends!r}"
        for other, wait in depends.items():
            assert wait.get("condition") in ("service_started", "service_healthy"), (where, name, other, wait)


def test_the_nginx_example_resolves_the_fakes_when_asked_not_once_at_start() -> None:
    """An ``upstream { server fake:8080; }`` is resolved once: a fake replica restarted with a new
    address gets 502s. Docker's resolver and a variable in ``proxy_pass`` resolve it again."""
    confs = _nginx_confs()
    assert confs, "no ```nginx block in the docs"
    for conf in confs:
        assert re.search(r"^\s*resolver\s+127\.0\.0\.11\b[^;]*\bvalid=", conf.text, re.M), conf.where
        passes = re.findall(r"proxy_pass\s+([^;]+);", conf.text)
        assert passes and all(target.startswith("$") for target in passes), (conf.where, passes)
        assert "upstream" not in re.sub(r"#.*", "", conf.text), conf.where


def test_the_checks_catch_the_trial_s_compose_file() -> None:
    """The compose example as the trial found it: an unset token swallows --state; no wait, no restart."""
    old = {"services": {"redis": {"image": "redis:7"}, "fake": {
        "command": 'sh -c "pip install bgmock && bgmock serve --host 0.0.0.0 --admin-token $$BGMOCK_ADMIN_TOKEN '
                   '--state redis://redis:6379/0"'}}}
    with pytest.raises(AssertionError, match="a variable that may be unset"):
        test_a_compose_file_s_fakes_get_their_flags_and_wait_for_redis("old", old)
    old["services"]["fake"]["command"] = old["services"]["fake"]["command"].replace(
        "$$BGMOCK_ADMIN_TOKEN", "${BGMOCK_ADMIN_TOKEN:?set it}")
    with pytest.raises(AssertionError, match="does not wait for a healthy redis"):
        test_a_compose_file_s_fakes_get_their_flags_and_wait_for_redis("old", old)
    with pytest.raises(pytest.fail.Exception, match="--admin-token: expected one argument"):
        _check_serve("unset", ["--host", "0.0.0.0", "--admin-token", "--state", "redis://redis:6379/0"])
