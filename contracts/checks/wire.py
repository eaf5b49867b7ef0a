"""C1-C3: what the client sends: valid requests, the caller's values as given, a signature that verifies.

They judge the journal's record of every request, so C1 and C3 also judge the requests of
the transport and polling probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.validation.coercion import coerce

from ..observation import Observation, is_submit, reached_api
from ..strategies import ImageSpec
from ..strictness import request_leniencies, signing_leniencies
from .common import same_text, show
from .registry import Broken, Context, Skip, obligation


@obligation(
    "C1",
    "schema",
    "every request validates against the request schemas (body, item, signing parameters)",
    kinds=("success",),
    also=("transport", "polling"),
)
def schema(obs: Observation, ctx: Context) -> None:
    if not obs.entries:
        raise Skip("the client sent no request")
    for e in obs.entries:
        if e.get("endpoint") is None:
            raise Broken(
                "not an API path", f"{e.get('method')} {e.get('path')} (the fake answered HTTP {e.get('status')})"
            )
        if e.get("problems"):
            raise Broken("request breaks the schema", "; ".join(e["problems"]))
        if ctx.signatures:
            signing = e.get("signing") or {}
            problems = sorted(err.message for err in ctx.signing_validator.iter_errors(signing))
            if problems:
                raise Broken("signing parameters break the schema", f"{signing}: {'; '.join(problems)}")
    for e in obs.entries:  # what the fake accepted only by its leniency (contracts/strictness.py)
        for leaned in request_leniencies(e, obs.request, ctx.item_schema):
            raise Broken(*leaned)


@obligation(
    "C2",
    "fidelity",
    "what arrives is what the caller asked for: every field, value and the image bytes",
    kinds=("success",),
)
def fidelity(obs: Observation, ctx: Context) -> None:
    if obs.request is None:
        raise Skip("no caller input")
    submits = [e for e in obs.entries if is_submit(e) and reached_api(e) and e.get("params") is not None]
    if not submits:
        raise Skip("no submit reached the API")
    given = dict(obs.request.fields)
    for e in submits:
        sent = _the_one_item(e)
        _given_fields_kept(given, sent, ctx.item_schema)
        _no_field_added(given, sent, ctx.item_schema)
        _image_kept(given, e.get("images") or [])


def _the_one_item(entry: dict[str, Any]) -> dict[str, Any]:
    """The item a submit carried: the caller asked for exactly one."""
    params = entry["params"]
    if len(params) != 1:
        if not params and entry.get("problems"):
            raise Skip("the body could not be read (see C1)")
        raise Broken("wrong number of items", f"the caller asked for 1 item; the request carried {len(params)}")
    return params[0]


def _given_fields_kept(given: dict[str, Any], sent: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Every field the caller gave arrives, with its value."""
    # "800" and 800 are one value: both sides read as the item schema's types, by the fake's
    # own lenient reading (mockserver/validation/coercion.py), so the kit and the fake cannot disagree.
    sent_read, given_read = coerce(sent, schema), coerce(given, schema)
    both = "imgBase64" in given and "imageFileUrl" in given
    for key, value in given.items():
        if key == "imageFileUrl" and both and key not in sent:
            continue  # base64 wins; leaving the URL out is fine
        if key not in sent:
            why = (
                " (the caller gave both; the service uses base64 when both are given)"
                if both and key == "imgBase64"
                else ""
            )
            raise Broken(f"{key} dropped", f"the caller gave {key}={show(value)}; the request left it out{why}")
        if isinstance(value, ImageSpec):
            continue  # compared by digest (_image_kept)
        if not same_text(sent_read[key], given_read[key]):
            raise Broken(
                f"{key} changed", f"the caller gave {key}={show(value)}; the request sent {show(sent[key])}"
            )


def _no_field_added(given: dict[str, Any], sent: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """No field the caller did not give, but a schema default sent as its default."""
    sent_read = coerce(sent, schema)
    for key, value in sent.items():
        if key in given:
            continue
        default = schema.get("properties", {}).get(key, {}).get("default")
        if default is None or sent_read[key] != default:
            raise Broken(f"{key} added", f"the caller did not give {key}; the request sent {key}={show(value)}")


def _image_kept(given: dict[str, Any], notes: list[dict[str, Any]]) -> None:
    """The caller's base64 image arrives as base64, byte for byte (the journal's digest)."""
    image = given.get("imgBase64")
    if not isinstance(image, ImageSpec) or not notes:
        return
    note = notes[0]
    if note.get("source") != "imgBase64":
        raise Broken(
            "image source changed", f"the caller gave the image as base64; the fake used {note.get('source')}"
        )
    if note.get("crc32") != image.crc32:
        raise Broken(
            "image bytes changed",
            f"the caller gave {image!r}; the fake decoded {note.get('format')} {note.get('width')}x"
            f"{note.get('height')}, {note.get('bytes')} bytes with another digest (re-encoded or resized?)",
        )


@obligation(
    "C3",
    "signing",
    "the signature verifies with the given key pair (v2 or IOP form scheme)",
    kinds=("success",),
    also=("transport", "polling"),
)
def signing(obs: Observation, ctx: Context) -> None:
    if not ctx.signatures:
        raise Skip("the fake checks no signatures")
    if not obs.entries:
        raise Skip("the client sent no request")
    for e in obs.entries:
        if e.get("endpoint") is not None and e.get("gateway"):
            sent = e.get("signing") or {}
            shown = {k: sent.get(k) for k in ("app_key", "timestamp", "sign_method", "sign_ver", "sign") if k in sent}
            raise Broken(
                f"gateway answered {e['gateway']}",
                f"{e.get('method')} {e.get('path')} with {shown or 'no signing parameters'}",
            )
    for e in obs.entries:  # a signature the fake accepted only by its leniency
        for leaned in signing_leniencies(e):
            raise Broken(*leaned)
