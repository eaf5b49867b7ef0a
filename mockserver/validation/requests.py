"""Every rule a request to the vendor's API must pass, behind one object built per fake.

``RequestRules`` is made with what the rules need and nothing else: the spec (schemas, the
error catalog), the settings, the scene IDs submit accepts and a resolver for image URLs.
It never reaches back into the backend, so a rule can be read, and tested, here alone.
What a valid request *does* (tasks, faults, scenes found) is the backend's.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .body import FormBody, parse_body
from .coercion import coerce
from .order import field_order
from .prefer import PreferReader, Wish
from .problems import schema_problems
from .submit import ImageResolver, SubmitItem, SubmitParams, SubmitValidator

if TYPE_CHECKING:
    from ..config import Config
    from ..spec import Spec

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class RequestRules:
    """The request rules of one fake's settings (strict or lenient, image bounds, scenes)."""

    def __init__(
        self,
        spec: Spec,
        config: Config,
        *,
        scene_ids: Container[str] | None = None,
        resolve_image: ImageResolver | None = None,
    ) -> None:
        self.spec = spec
        self.strict = config.strict
        self.max_body_bytes = config.max_body_bytes
        self.submit_rules = SubmitValidator(spec, config, scene_ids=scene_ids, resolve_image=resolve_image)
        self.prefer_reader = PreferReader(spec)

    def size(self, raw: bytes) -> None:
        """A body over ``max_body_bytes`` is refused before anything reads it."""
        if len(raw) > self.max_body_bytes:
            raise InvalidInput([f"body: larger than the {self.max_body_bytes} bytes the fake accepts"])

    def body(self, content_type: str | None, raw: bytes) -> dict[str, Any]:
        """The API call's body as an object (JSON or form), or a 700 naming ``body``/``Content-Type``."""
        return parse_body(content_type, raw, strict=self.strict)

    def submit_params(self, body: Mapping[str, Any]) -> SubmitParams:
        """``requestParams`` read once, for fault rules to match on before ``submit`` judges it."""
        return self.submit_rules.read(body)

    def submit(self, body: Mapping[str, Any], params: SubmitParams | None = None) -> list[SubmitItem]:
        """The validated items of a submit, or InvalidInput listing every failing field."""
        return self.submit_rules.validate(body, params=params)

    def query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A result query's parameters (``schemas/query-request.json``)."""
        return validate_params(self.spec, "query-request.json", body, strict=self.strict)

    @staticmethod
    def task_id(params: Mapping[str, Any]) -> str:
        """The queried ``taskId`` as one the fake could have issued (a UUID). Checked after the
        fault decision, as the service looks up a task: an injected code wins over it."""
        task_id = str(params["taskId"])
        if not _UUID.match(task_id):
            raise InvalidInput(["taskId: must be a task ID from the submit answer (a UUID)"])
        return task_id

    def scene_query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A scene query's parameters (``schemas/scene-query-request.json``)."""
        return validate_params(self.spec, "scene-query-request.json", body, strict=self.strict)

    def prefer(self, header: str | None) -> Wish:
        """The ``Prefer`` header's checked wish (``prefer.py``)."""
        return self.prefer_reader.read(header)


def validate_params(spec: Spec, schema_name: str, body: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    """Coerce (unless strict; a form's fields are strings whatever the mode) and check a flat
    parameter object (query, scene query)."""
    schema = spec.schema(schema_name)
    params = coerce(body, schema, strings=not strict or isinstance(body, FormBody))
    problems = schema_problems(
        spec.validator(schema_name), params, fast=spec.fast_check(schema_name), order=field_order(spec, schema_name)
    )
    if problems:
        raise InvalidInput(problems)
    return params  # type: ignore[no-any-return]
