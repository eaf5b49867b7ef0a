"""Request bodies in, parsed parameters or a list of field problems out.

The API's shape lives in ``schemas/``; this module only adds what a schema cannot say: how
bodies are encoded on the wire, the lenient coercion of string spellings (guided by the
schema's declared types), and the rules that need the decoded image.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .coercion import coerce, scalar_types
from .config import Config
from .errors import InvalidInput
from .images import ImageInfo, ImageProblem, check_structure, inspect_image
from .parsing import JSON_WHITESPACE_BYTES, is_json_blank, media_type
from .problems import json_type, schema_problems
from .spec import Spec

FORM = "application/x-www-form-urlencoded"
URL_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "bmp", "webp"})
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{2,5})$")
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)
_URLSAFE = str.maketrans("-_", "+/")

#: Deepest JSON nesting the fake reads. Its own bodies nest 3 deep (body, requestParams, item);
#: anything much deeper is an attack on the parser or on what walks the value after it.
MAX_JSON_DEPTH = 32

#: Resolves a URL that points at the fake itself to image bytes: None when the URL is not the
#: fake's; raises LookupError (its text is the reason) when it is, but no image is there.
LocalResolver = Callable[[str], "bytes | None"]


@dataclass(frozen=True)
class SubmitItem:
    """One validated ``requestParams`` item and what the fake learnt from its image."""

    params: dict[str, Any]
    source: str  # "imgBase64" or "imageFileUrl": the one the fake used
    image: ImageInfo | None  # None for a URL the fake did not fetch
    product: bytes | None  # the decoded image, to draw results with


@dataclass(frozen=True)
class SubmitParams:
    """A submit's ``requestParams``, read once per request and shared by fault-rule matching and
    validation, so the JSON-string form is parsed and each item coerced once, not once per use.

    ``items`` are the array's first ``max_items + 1`` entries, coerced unless strict; entries that
    are not objects stay in place (validation reports them by index). ``problems`` says why the
    array could not be read at all (then ``items`` is empty).
    """

    items: list[Any]
    problems: list[str] | None = None

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The objects among the items: what a fault rule's ``match`` is compared with."""
        return [item for item in self.items if isinstance(item, dict)]


class FormBody(dict):
    """A form-decoded body: every value is a string by nature of the encoding, so even strict
    mode reads numbers and booleans from it (strict is about the types JSON can carry)."""


def parse_body(content_type: str | None, body: bytes, *, strict: bool = False) -> dict[str, Any]:
    """Decode a JSON or form-encoded body into an object, or raise a 700 naming the problem."""
    media = media_type(content_type)
    if is_json_blank(body):  # JSON's four whitespace characters, not bytes.isspace()'s six
        return {}
    looks_json = body.lstrip(JSON_WHITESPACE_BYTES)[:1] == b"{"
    if media == FORM and not (looks_json and not strict):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(["body: form data is not valid UTF-8"]) from None
        return FormBody(parse_qsl(text, keep_blank_values=True))
    # Lenient: a JSON object sent as a form (``curl -d '{...}'``) or with no type is read as JSON.
    if media in ("application/json", FORM) or media.endswith("+json") or (not media and not strict):
        try:
            value = load_json(body, "body")
        except ValueError as exc:
            raise InvalidInput([f"body: not valid JSON ({str(exc)[:120]})"]) from None
        if not isinstance(value, dict):
            raise InvalidInput([f"body: must be a JSON object, got {json_type(value)}"])
        return value
    shown = media or "none"
    raise InvalidInput(
        [f"Content-Type: {shown[:80]} is not supported (use application/json or {FORM})"]
    )


def load_json(data: bytes | str, where: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` with a 700 naming ``where``.

    Raises ValueError for malformed JSON. Python's parser recurses and gives up only near 1000
    levels, and every walk over the value afterwards recurses too, so depth is bounded here,
    once, for every body the fake reads.
    """
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    try:
        if text.startswith("\ufeff"):  # what json.loads says of a str with a BOM (bytes lose theirs above)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except RecursionError:
        raise InvalidInput([f"{where}: JSON nested deeper than {max_depth} levels"]) from None
    # Walk the parsed containers (cheap: a base64 image is one leaf) rather than scanning
    # every character of a multi-megabyte body for brackets.
    problem = _unfit(value, max_depth)
    if problem:
        raise InvalidInput([f"{where}: {problem}"])
    return value


def _not_json(name: str) -> Any:
    """NaN and Infinity: Python's parser takes them, JSON does not (and neither may the fake's answers)."""
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


#: One decoder for every body: ``json.loads`` with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _unfit(value: Any, limit: int) -> str | None:
    """What the parser let through that the fake cannot keep: arrays and objects nested more
    than ``limit`` levels, or a lone surrogate (``"\\ud800"`` is JSON, but no Unicode text: it
    could not be written to the journal, a log or an answer).

    Iterative, a level at a time: the containers of one level are collected without building a
    (node, depth) pair per container, the cost that mattered on small bodies.  A string costs a
    look only when it is not ASCII (``isascii`` is a flag: a base64 image costs nothing).
    """
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    if isinstance(value, str) and _lone_surrogate(value):
        return _SURROGATE
    while level:
        depth += 1
        if depth > limit:
            return f"JSON nested deeper than {limit} levels"
        deeper = []
        for node in level:
            if isinstance(node, dict):
                for key in node:
                    if not key.isascii() and _lone_surrogate(key):
                        return _SURROGATE
                children: Iterable[Any] = node.values()
            else:
                children = node
            for child in children:
                if isinstance(child, (dict, list)):
                    deeper.append(child)
                elif isinstance(child, str) and not child.isascii() and _lone_surrogate(child):
                    return _SURROGATE
        level = deeper
    return None


_SURROGATE = "JSON text holds a lone surrogate (an unpaired \\ud800-\\udfff), which is not Unicode"


def _lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class SubmitValidator:
    """Checks a submit body against the schemas and the image rules of one fake's config."""

    def __init__(self, spec: Spec, config: Config) -> None:
        self.spec = spec
        self.config = config
        self.item_schema = spec.schema("submit-request-item.json")
        self.item_types = scalar_types(self.item_schema)
        self.items_validator = spec.validator("submit-request.json#/$defs/items")
        self.strict_item_validator = spec.validator("submit-request-item.strict.json")
        self.strict_envelope_validator = spec.validator("submit-request.strict.json")
        self.items_fast = spec.fast_check("submit-request.json#/$defs/items")
        self.strict_item_fast = spec.fast_check("submit-request-item.strict.json")
        self.strict_envelope_fast = spec.fast_check("submit-request.strict.json")
        #: Items past the documented maximum are not looked at: one more than it is enough to
        #: report the count, and a body of 100 000 items must not cost 100 000 validations.
        self.max_items = int(spec.schema("submit-request.json")["$defs"]["items"]["maxItems"])

    def request_params(self, body: Mapping[str, Any]) -> list[Any]:
        """The ``requestParams`` array, decoding the JSON-string form the samples send."""
        if "requestParams" not in body:
            raise InvalidInput(["requestParams: is required"])
        raw = body["requestParams"]
        if isinstance(raw, str):
            try:
                raw = load_json(raw, "requestParams")
            except ValueError:
                raise InvalidInput(["requestParams: string is not a valid JSON array"]) from None
        if not isinstance(raw, list):
            raise InvalidInput(
                [f"requestParams: must be an array of objects or a JSON string of one, got {json_type(raw)}"]
            )
        return raw[: self.max_items + 1]

    def read(self, body: Mapping[str, Any]) -> SubmitParams:
        """``requestParams`` parsed and coerced (unless strict), without schema checks.

        What fault rules match on (``candidates``) and what ``validate`` checks, so that a
        request is read once however many parts of the fake look at it.
        """
        try:
            raw = self.request_params(body)
        except InvalidInput as exc:
            return SubmitParams([], exc.problems)
        # Strict reads no string spellings, but a whole-number float is still the integer the
        # schema will accept it as (JSON Schema: 800.0 is an integer).
        types, strings = self.item_types, not self.config.strict
        return SubmitParams([coerce(item, self.item_schema, types=types, strings=strings) for item in raw])

    def validate(
        self,
        body: Mapping[str, Any],
        resolve_local: LocalResolver | None = None,
        scene_problem: Callable[[Any], str | None] | None = None,
        *,
        params: SubmitParams | None = None,
    ) -> list[SubmitItem]:
        """Validated items, or InvalidInput listing every failing field.

        ``params`` is ``read(body)`` when the caller already has it (it is read here otherwise).
        """
        envelope = (
            schema_problems(self.strict_envelope_validator, body, fast=self.strict_envelope_fast)
            if self.config.strict else []
        )
        if params is None:
            params = self.read(body)
        if params.problems is not None:
            raise InvalidInput(envelope + params.problems)
        items = params.items
        problems = envelope + schema_problems(self.items_validator, items, "requestParams", fast=self.items_fast)
        if self.config.strict:
            for index, item in enumerate(items):
                problems += schema_problems(
                    self.strict_item_validator, item, f"requestParams[{index}]", fast=self.strict_item_fast
                )
        parsed: list[SubmitItem] = []
        specific: list[str] = []  # what the image and URL checks found: the reason, not the schema's bound
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            prefix = f"requestParams[{index}]"
            unknown = scene_problem(item.get("modelNum")) if scene_problem and item.get("modelNum") else None
            if unknown:
                problems.append(f"{prefix}.modelNum: {unknown}")
            try:
                parsed.append(self._image(item, prefix, resolve_local))
            except InvalidInput as exc:
                specific += exc.problems
        if specific:
            problems = _superseded(problems, specific) + specific
        if problems:
            raise InvalidInput(list(dict.fromkeys(problems)))
        return parsed

    def _image(
        self, item: dict[str, Any], prefix: str, resolve_local: LocalResolver | None
    ) -> SubmitItem:
        params = dict(item)
        params.setdefault("imageNum", self.item_schema["properties"]["imageNum"]["default"])
        b64 = item.get("imgBase64")
        if isinstance(b64, str) and b64:
            data = self.decode_base64(b64, f"{prefix}.imgBase64")
            info = self.check_image(data, f"{prefix}.imgBase64")
            return SubmitItem(params, "imgBase64", info, data)
        url = item.get("imageFileUrl")
        if not isinstance(url, str) or not url:
            return SubmitItem(params, "imageFileUrl", None, None)
        self.check_url(url, f"{prefix}.imageFileUrl")
        try:
            local = resolve_local(url) if resolve_local else None
        except LookupError as exc:
            raise InvalidInput([f"{prefix}.imageFileUrl: {exc}"]) from None
        if local is not None:
            return SubmitItem(params, "imageFileUrl", self.check_image(local, f"{prefix}.imageFileUrl"), local)
        return SubmitItem(params, "imageFileUrl", None, None)

    def decode_base64(self, text: str, where: str) -> bytes:
        text = _DATA_URL.sub("", text, count=1)
        limit = self.config.max_image_bytes
        if len(text) > (limit + 2) // 3 * 4 + 64 + len(text) // 76 * 2:
            raise InvalidInput([f"{where}: image is larger than {_size(limit)} ({limit} bytes)"])
        try:  # the common case in one strict C pass (standard alphabet, padded, no line breaks);
            # anything it refuses takes the lenient path below, which accepts a superset.
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError, TypeError):  # TypeError: Python 3.10 has no strict_mode
            pass
        compact = "".join(text.split())
        if "-" in compact or "_" in compact:  # the URL-safe alphabet, as some clients send it
            compact = compact.translate(_URLSAFE)
        try:
            data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput([f"{where}: not valid base64"]) from None
        return data

    def check_image(self, data: bytes, where: str) -> ImageInfo:
        cfg = self.config
        if len(data) > cfg.max_image_bytes:
            limit = cfg.max_image_bytes
            raise InvalidInput([f"{where}: image is {len(data)} bytes, more than {_size(limit)} ({limit} bytes)"])
        low, high = cfg.image_min_side, cfg.image_max_side
        try:
            # The header alone first: an image whose sides are out of bounds is refused before
            # a single pixel is decoded (a 100 kB PNG may claim 5000x5000).
            info = inspect_image(data, max_pixels=cfg.image_max_side**2 * 4, verify=False)
            fits = low < info.width < high and low < info.height < high
            if fits and cfg.image_check == "structure":
                check_structure(data, info.format)  # what inspect_image(verify="structure") adds to the header read
            elif fits:
                inspect_image(data, max_pixels=cfg.image_max_side**2 * 4, verify=True)
        except ImageProblem as exc:
            raise InvalidInput([f"{where}: {exc.reason}"]) from None
        if not fits:
            raise InvalidInput([
                f"{where}: image is {info.width}x{info.height} pixels, "  # not "; ": that separates problems
                f"each side must be larger than {low} and smaller than {high}"
            ])
        return info

    @staticmethod
    def check_url(url: str, where: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise InvalidInput([f"{where}: not a valid URL"]) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInput([f"{where}: must be an http or https URL with a host"])
        segment = parts.path.rsplit("/", 1)[-1]
        match = _EXTENSION.search(segment)
        if match and match.group(1).lower() not in URL_IMAGE_EXTENSIONS and not match.group(1).isdigit():
            raise InvalidInput(
                [f"{where}: .{match.group(1)} is not an allowed image format (JPEG, PNG, BMP, WEBP)"]
            )


def _superseded(general: list[str], specific: list[str]) -> list[str]:
    """The schema's problems without those of a field a more specific check already explains:
    a 5.9 MB image is "larger than 4 MiB", not also "at most 6000000 characters" (the schema's
    coarse bound on the same field, which says less and names an undocumented number)."""
    fields = {problem.split(": ", 1)[0] for problem in specific}
    return [problem for problem in general if problem.split(": ", 1)[0] not in fields]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def validate_params(spec: Spec, schema_name: str, body: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    """Coerce (unless strict) and check a flat parameter object (query, scene query)."""
    schema = spec.schema(schema_name)
    params = coerce(body, schema, strings=not strict or isinstance(body, FormBody))
    problems = schema_problems(spec.validator(schema_name), params, fast=spec.fast_check(schema_name))
    if problems:
        raise InvalidInput(problems)
    return params
