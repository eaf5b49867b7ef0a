"""Baseline peer: bare Flask answering the reference's fixed sample submit JSON, no checks.

Run by bench/bench_throughput.py as ``gunicorn -w 2 --chdir bench/peers flask_bare:app``.
"""

from __future__ import annotations

import json

from flask import Flask, Response

SAMPLE = json.dumps({
    "data": {"result": {"taskId": "1f7a4c1e-2d3b-4c5d-8e9f-0a1b2c3d4e5f"}},
    "requestId": "2150416d17092030930656451e0b3b", "success": True, "resCode": 200, "resMessage": "success",
    "code": "0", "request_id": "2150416d1709203093065", "_trace_id_": "2150416d17092030930656451e0b3b",
}).encode()

app = Flask(__name__)


@app.route("/ai/image/background/generation/scenario", methods=["POST"])
def submit() -> Response:
    return Response(SAMPLE, content_type="application/json")
