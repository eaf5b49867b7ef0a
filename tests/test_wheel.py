"""The built wheel works on its own: schemas and fixtures ship inside it and are found there.

Builds the wheel from this checkout, installs it (without dependencies) into a fresh venv that
sees this environment's flask/jsonschema/Pillow, and runs it from a directory outside the
checkout, so nothing can be picked up from the source tree by accident. Building fetches
hatchling through pip's build isolation; when that is impossible the test fails (it must not
pass silently in CI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import requests

from tests.test_cli import serving

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
import mockserver, mockserver.spec
from mockserver.app import create_app

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
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # pip comes from the system site-packages the venv sees; --ignore-installed: this environment's
    # editable bgmock must not count as "already satisfied"
    _run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheels[0])])
    return env_dir


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
