"""The "Extending the fake" example of README.md, run as it is printed.

tests/docs/examples/test_docs_match.py checks that the block is found here word for word.
"""

from flask import Blueprint, current_app, jsonify

import mockserver

SUBMIT = "/ai/image/background/generation/scenario"
ITEM = {"modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


uploads = Blueprint("uploads", __name__, url_prefix="/oss")   # a sibling API your client also calls


@uploads.post("/upload")
def upload():
    fake = current_app.extensions["bgmock"]                   # the fake: .backend, .dispatcher
    return jsonify(url="https://example.com/p.jpg", tasks=len(fake.backend.tasks()))


def test_the_fake_with_my_own_endpoint():
    app = mockserver.create_app({"task_duration": 0})
    app.register_blueprint(uploads)                           # or @app.route, before_request, errorhandler
    client = app.test_client()                                # or serve it: app.run(), gunicorn 'mymod:app'
    image = client.post("/oss/upload").get_json()["url"]
    answer = client.post(SUBMIT, json={"requestParams": [{**ITEM, "imageFileUrl": image}]}).get_json()
    assert answer["success"]                                  # bgmock's routes answer first, as ever
    assert client.get("/oss/nowhere").get_json()["code"] == "InvalidApiPath"   # no route: the gateway's 404
