"""The compiled fast path (jsonschema-rs) never accepts what jsonschema refuses.

``Spec.fast_check`` answers "valid" without walking jsonschema's validator, which used to be
most of a submit's cost.  A request it refuses is judged again by jsonschema (the messages
come from there), so the only way the fast path could loosen a check is by accepting
something jsonschema refuses.  These properties look for exactly that, on values near the
schemas' edges, and check that valid requests really take the fast path.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.config import Config, ConfigError
from mockserver.spec import load_spec

SPEC = load_spec()
REFS = [
    "submit-request.json#/$defs/items",
    "submit-request-item.strict.json",
    "submit-request.strict.json",
    "query-request.json",
    "scene-query-request.json",
]

scalars = (
    st.none() | st.booleans() | st.integers(-3, 3000)
    | st.sampled_from([800, 800.0, 750, 1000, 1000.5, 2, 10, 11, 1e309])
    | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from([
        "", "\n", "mod001", "http://x", "https://example.com/p.jpg", "ftp://x", "HTTPS://h/a.png", "800",
        "true", "中文标题", "a" * 129, "ab\n",
    ])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["imageFileUrl", "imgBase64", "modelNum", "needLayout", "productTitle", "width", "height", "imageNum",
          "taskId", "sceneType", "categoryType", "count", "requestParams"]
VALID_ITEM = {
    "imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2,
}
near_items = st.builds(
    lambda changes, drop: {k: v for k, v in {**VALID_ITEM, **changes}.items() if k not in drop},
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=3),
    st.sets(st.sampled_from(list(VALID_ITEM)), max_size=2),
)
candidates = (
    json_values | near_items | st.lists(near_items, max_size=11)
    | st.builds(lambda items: {"requestParams": items}, st.lists(near_items, max_size=2))
)


@given(st.sampled_from(REFS), candidates)
def test_the_fast_path_never_accepts_what_jsonschema_refuses(ref, instance):
    if SPEC.fast_check(ref)(instance):
        assert SPEC.validator(ref).is_valid(instance), f"{ref} fast path accepted {instance!r}"


@given(st.lists(st.builds(
    lambda url, size, num: {**VALID_ITEM, "imageFileUrl": url, "width": size[0], "height": size[1], "imageNum": num},
    st.sampled_from(["https://example.com/p.jpg", "http://cdn.example/img", "HTTP://X/Y.PNG"]),
    st.sampled_from([(800, 800), (750, 1000), (800.0, 800.0)]), st.integers(2, 10),
), min_size=1, max_size=10))
def test_valid_submits_take_the_fast_path(items):
    assert SPEC.validator("submit-request.json#/$defs/items").is_valid(items)
    assert SPEC.fast_check("submit-request.json#/$defs/items")(items)


# A trailing newline: Python's ``$`` matches before it, ECMA-262's (JSON Schema's) does not. When
# jsonschema accepted what the fast check refused, it had no problem to name and the value passed.
NEWLINE_CASES = [
    ("config.json", {"allow_hosts": ["example.com\n"]}),
    ("config.json", {"fetch_allow_hosts": ["example.com\n"]}),
    ("submit-request-item.strict.json", {"imageFileUrl": "https://example.com/p.png", "modelNum": "mod001",
                                         "width": 800, "height": 800, "imageNum": 4, "productTitle": "mug\n"}),
    ("catalog.json", {"scenes": [{"modelNum": "m", "name": "N", "sceneName": "S", "sceneType": 1,
                                  "categoryType": [1], "palette": ["#ffffff\n", "#000000"]}]}),
]


@pytest.mark.parametrize(("ref", "instance"), NEWLINE_CASES, ids=[ref for ref, _ in NEWLINE_CASES])
def test_a_pattern_ends_at_the_end_of_the_text_in_both_validators(ref: str, instance: dict) -> None:
    assert not SPEC.fast_check(ref)(instance)
    assert not SPEC.validator(ref).is_valid(instance)
    without = json.loads(json.dumps(instance).replace("\\n", ""))
    assert SPEC.fast_check(ref)(without) and SPEC.validator(ref).is_valid(without)


def test_a_setting_with_a_trailing_newline_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"allow_hosts\[0\]: must be a host name"):
        Config.from_mapping({"allow_hosts": ["example.com\n"]})
