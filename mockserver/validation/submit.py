"""A submit's ``requestParams``: the schema's verdict, then what a schema cannot say.

The item's shape lives in ``schemas/submit-request-item.json``; this module adds the lenient
coercion of string spellings (guided by the schema's declared types), the known scene IDs,
and the rules that need the decoded image or the URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InvalidInput
from ..images import ImageInfo, ImageProblem, check_structure, inspect_image
from .body import load_json
from .coercion import coerce, scalar_types
from .order import field_order
from .problems import json_type, schema_problems

if TYPE_CHECKING:  # the settings' type only: config.py imports this package's problems and coercion
    from ..config import Config
    from ..spec import Spec

URL_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "bmp", "webp"})
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{2,5})$")
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)
_URLSAFE = str.maketrans("-_", "+/")

#: Resolves an ``imageFileUrl`` to image bytes: None when the URL is not to be checked (not the
#: fake's own, and not fetched); raises LookupError (its text is the reason) when no image is there.
ImageResolver = Callable[[str], "bytes | None"]


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


class SubmitValidator:
    """Checks a submit body against the schemas and the image rules of one fake's config."""

    def __init__(
        self,
        spec: Spec,
        config: Config,
        *,
        scene_ids: Container[str] | None = None,
        resolve_image: ImageResolver | None = None,
    ) -> None:
        """``scene_ids``: the ``modelNum`` values submit accepts (None: any, ``allow_any_scene``);
        ``resolve_image``: the fake's own images and, with ``fetch_images``, downloads."""
        self.spec = spec
        self.config = config
        self.scene_ids = scene_ids
        self.resolve_image = resolve_image
        self.item_schema = spec.schema("submit-request-item.json")
        self.item_types = scalar_types(self.item_schema)
        self.items_validator = spec.validator("submit-request.json#/$defs/items")
        self.strict_item_validator = spec.validator("submit-request-item.strict.json")
        self.strict_envelope_validator = spec.validator("submit-request.strict.json")
        self.items_fast = spec.fast_check("submit-request.json#/$defs/items")
        self.strict_item_fast = spec.fast_check("submit-request-item.strict.json")
        self.strict_envelope_fast = spec.fast_check("submit-request.strict.json")
        #: Every problem of a submit, whichever check found it, is listed in this one order.
        self.order = field_order(spec, "submit-request.json", "submit-request.strict.json")
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

    def validate(self, body: Mapping[str, Any], *, params: SubmitParams | None = None) -> list[SubmitItem]:
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
            raise InvalidInput(self.order.ordered(envelope + params.problems))
        items = params.items
        problems = envelope + self._schema_problems(items)
        parsed: list[SubmitItem] = []
        specific: list[str] = []  # what the image and URL checks found: the reason, not the schema's bound
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            prefix = f"requestParams[{index}]"
            unknown = self.scene_problem(item.get("modelNum"))
            if unknown:
                problems.append(f"{prefix}.modelNum: {unknown}")
            try:
                parsed.append(self._image(item, prefix))
            except InvalidInput as exc:
                specific += exc.problems
        if specific:
            problems = _superseded(problems, specific) + specific
        if problems:
            raise InvalidInput(self.order.ordered(problems))
        return parsed

    def _schema_problems(self, items: list[Any]) -> list[str]:
        """What the items' schema finds; in strict mode, what each item's strict schema adds."""
        problems = schema_problems(self.items_validator, items, "requestParams", fast=self.items_fast)
        if self.config.strict:
            for index, item in enumerate(items):
                problems += schema_problems(
                    self.strict_item_validator, item, f"requestParams[{index}]", fast=self.strict_item_fast
                )
        return problems

    def scene_problem(self, model_num: Any) -> str | None:
        """Why a ``modelNum`` is refused (a string the catalog does not know), or None; its type
        and emptiness are the schema's to judge."""
        if self.scene_ids is None or not isinstance(model_num, str) or not model_num:
            return None
        if model_num in self.scene_ids:
            return None
        return f"unknown scene ID {model_num[:64]!r} (see the scene query API)"

    def _image(self, item: dict[str, Any], prefix: str) -> SubmitItem:
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
            local = self.resolve_image(url) if self.resolve_image else None
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
