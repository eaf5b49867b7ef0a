"""Peer: the bare Flask baseline plus request validation with a cached jsonschema validator.

A hand-written submit schema (numbers may come as numeric strings, as the vendor's sample
sends them), compiled once; the body is parsed, ``requestParams`` decoded and validated.
Run as ``gunicorn -w 2 --chdir bench/peers flask_validated:app``.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from flask_bare import SAMPLE
from jsonschema import Draft202012Validator

NUMBER = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}
VALIDATOR = Draft202012Validator({
    "type": "array", "minItems": 1, "maxItems": 10,
    "items": {
        "type": "object",
        "required": ["modelNum", "width", "height"],
        "properties": {
            "imageFileUrl": {"type": "string", "maxLength": 2048, "pattern": "^https?://"},
            "imgBase64": {"type": "string"},
            "modelNum": {"type": "string", "minLength": 1, "maxLength": 128},
            "width": NUMBER, "height": NUMBER, "imageNum": NUMBER,
            "needLayout": {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]},
            "productTitle": {"type": "string", "maxLength": 512},
        },
        "anyOf": [{"required": ["imageFileUrl"]}, {"required": ["imgBase64"]}],
    },
})
ERROR = json.dumps({"success": False, "resCode": 700, "resMessage": "invalid input", "requestId": "0",
                    "code": "0", "request_id": "0", "_trace_id_": "0"}).encode()

app = Flask(__name__)


@app.route("/ai/image/background/generation/scenario", methods=["POST"])
def submit() -> Response:
    body = request.get_json(force=True, silent=True) or {}
    params = body.get("requestParams")
    try:
        items = json.loads(params) if isinstance(params, str) else params
    except ValueError:
        items = None
    ok = VALIDATOR.is_valid(items)
    return Response(SAMPLE if ok else ERROR, content_type="application/json")
