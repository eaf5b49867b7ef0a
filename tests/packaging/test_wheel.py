"""The built wheel works on its own: schemas and fixtures ship inside it and are found there.

Builds the wheel from this checkout, installs it (without dependencies) into a fresh venv, and
runs it from a directory outside the checkout, so nothing can be picked up from the source tree
by accident. Building fetches hatchling through pip's build isolation; when that is impossible
the test fails (it must not pass silently in CI).

The venv takes its dependencies (flask, jsonschema, Pillow, pip itself) from *the environment
running this test*, through a ``.pth`` file listing its site-packages, and never from the base
interpreter: ``system_site_packages=True`` would see the base Python's packages, so the test would
pass or fail with whatever that Python happens to have (on a base Python with nothing but pip it
failed: No module named 'PIL'). A ``.pth`` line adds a folder to ``sys.path`` without running the
``.pth`` files inside it, so this environment's editable bgmock (a ``.pth`` pointing at the
checkout) stays invisible to the venv; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import requests

from tests.cli.test_cli import serving

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
import mockserver, mockserver.spec
from mockserver.serving.app import create_app

item = {"imageFileUrl": "https://cdn.example.com/p/mug.jpg", "modelNum": "mod001",
        "width": "800", "height": "800", "imageNum": "2"}
client = create_app({"log_requests": False, "clock": "manual"}).test_client()
answer = client.post("/ai/image/background/generation/scenario", json={"requestParams": json.dumps([item])}).get_json()
bad = client.post("/ai/image/background/generation/scenario", headers={"Prefer": "code=1001"}, json={}).get_json()
print(json.dumps({
    "file": mockserver.__file__,
    "data_dir": str(mockserver.spec.data_dir()),
    "schemas": sorted(p.name for p in (mockserver.spec.data_dir() / "schemas").glob("*.json")),
    "fixtures": sorted(p.name for p in (mockserver.spec.data_dir() / "fixtures").iterdir()),
    "answer": answer,
    "bad": bad,
}))
"""


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding only the freshly built wheel (its dependencies come from this environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(dist), str(ROOT)])
    wheels = list(dist.glob("bgmock-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_running_environment(python)
    # pip comes from this environment too; --ignore-installed: this environment's editable
    # bgmock must not count as "already satisfied"
    _run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheels[0])])
    return env_dir


def _site_dirs() -> list[str]:
    """The folders this interpreter imports installed distributions from: site-packages only,
    never the checkout (which this environment's editable install adds to ``sys.path``)."""
    found = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *sys.path]
    return [p for p in dict.fromkeys(found)
            if p and p.rstrip("/").endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]


def _see_running_environment(python: Path) -> None:
    """Make the venv of ``python`` import this environment's distributions, after its own."""
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    # "zz": read after any .pth the wheel itself installs; one folder per line, nothing executed
    (Path(own) / "zz_bgmock_test_deps.pth").write_text("".join(f"{p}\n" for p in _site_dirs()), encoding="utf-8")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("BGMOCK_DATA_DIR", "PYTHONPATH", "PYTHONHOME")}


@pytest.mark.slow
def test_the_wheel_carries_its_data_and_serves(installed, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    done = _run([str(installed / "bin" / "python"), "-c", PROBE], cwd=outside, env=_clean_env())
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    venv_root = installed.resolve()
    assert Path(probe["file"]).resolve().is_relative_to(venv_root), probe["file"]
    assert Path(probe["data_dir"]).resolve().is_relative_to(venv_root), probe["data_dir"]
    # inside the installed package (mockserver/_data), not guessed from a neighbouring folder
    assert Path(probe["data_dir"]).resolve().is_relative_to(Path(probe["file"]).resolve().parent), probe["data_dir"]
    assert set(probe["schemas"]) == {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert "scenes.json" in probe["fixtures"]
    answer = probe["answer"]
    assert answer["resCode"] == 200 and answer["success"] is True, answer
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["data"]["result"]["taskId"])
    assert probe["bad"]["resCode"] == 1001 and probe["bad"]["resMessage"] == "content control failed, please retry"


@pytest.mark.slow
def test_the_wheels_console_script_serves(installed, tmp_path):
    exe = installed / "bin" / "bgmock"
    assert exe.exists(), "the wheel did not install the bgmock console script"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with serving("--quiet", exe=str(exe), cwd=str(outside)) as (url, _):
        item = {"imageFileUrl": "https://cdn.example.com/p/mug.jpg", "modelNum": "mod001", "width": 800, "height": 800}
        body = requests.post(f"{url}/ai/image/background/generation/scenario", json={"requestParams": [item]},
                             timeout=10).json()
        assert body["resCode"] == 200, body
        health = requests.get(f"{url}/__admin/health", timeout=10).json()
        assert health["status"] == "ok" and health["scenes"] > 0
        for name in ("", "/app.js", "/style.css"):  # the dashboard's files ship in the wheel
            assert requests.get(f"{url}/__bgmock/ui{name}", timeout=10).status_code == 200, name
