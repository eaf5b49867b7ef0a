"""A client built exactly like the vendor's Python sample (api-family-notes.md): only the
domain and the key pair are configurable; the scheme is hard-coded ``https://``, the URL
carries ``partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key&timestamp&sign``, the body
is JSON with ``requestParams`` as a JSON string, the header ``x-iop-trial`` is sent, and
``requests`` checks certificates as it always does (so ``REQUESTS_CA_BUNDLE`` decides trust,
and ``HTTPS_PROXY`` routes it).  It is not imported by the fake: it is the client under test.

``python vendor_sample.py DOMAIN KEY SECRET`` runs the whole flow and prints one line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time

import requests

API_SUBMIT = "/ai/image/background/generation/scenario"
API_QUERY = "/ai/image/background/generation/query"
#: The item the sample sends: every value a string, as the reference's Java sample does.
ITEM = {"modelNum": "mod001", "imageFileUrl": "https://cdn.example.com/p/mug.jpg",
        "width": "800", "height": "800", "imageNum": "2"}


def call(domain: str, api_name: str, params: dict, key: str, secret: str) -> dict:
    timestamp = str(int(time.time() * 1000))
    sign = hmac.new(secret.encode(), (secret + timestamp).encode(), hashlib.sha256).hexdigest().upper()
    url = (f"https://{domain}/rest{api_name}?partner_id=aidge&sign_method=sha256&sign_ver=v2"
           f"&app_key={key}&timestamp={timestamp}&sign={sign}")
    headers = {"Content-Type": "application/json", "x-iop-trial": "true"}
    return requests.post(url, data=json.dumps(params), headers=headers, timeout=30).json()


def flow(domain: str, key: str, secret: str) -> list[bytes]:
    """Submit, poll until finished, download every image; the images' bytes."""
    answer = call(domain, API_SUBMIT, {"requestParams": json.dumps([ITEM])}, key, secret)
    task_id = answer["data"]["result"]["taskId"]
    for _ in range(200):
        data = call(domain, API_QUERY, {"taskId": task_id}, key, secret)["data"]
        if data["taskStatus"] == "finished":
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"task {task_id} never finished")
    urls = [url for result in data["taskResult"] for url in result["imageUrlList"]]
    return [requests.get(url, timeout=30).content for url in urls]


if __name__ == "__main__":
    images = flow(*sys.argv[1:4])
    print(f"finished {len(images)} images {' '.join(str(len(i)) for i in images)}")
