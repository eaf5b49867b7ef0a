"""Transport-neutral request and reply: what the live server and the in-process mode share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def host_port(host: str, port: int | str) -> str:
    """``host:port`` as a URL writes it: an IPv6 literal in brackets (``[::1]:8080``)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


#: One encoder for every answer: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Incoming:
    """One HTTP request, whichever transport carried it. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str = "http://127.0.0.1"

    @classmethod
    def build(  # noqa: PLR0913 - Incoming's fields, all but two keyword-only
        cls, method: str, path: str, *, query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None, body: bytes = b"", base_url: str = "http://127.0.0.1",
    ) -> Incoming:
        """A request from what a transport has at hand: the method upper-cased, header names lower-cased."""
        return cls(
            method.upper(), path, dict(query or {}),
            {k.lower(): v for k, v in (headers or {}).items()}, body, base_url.rstrip("/"),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """An answer, or (``transport`` set) an instruction to misbehave at the transport level."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    transport: str | None = None
    delay_ms: int = 0
    res_code: int | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kwargs: Any) -> Reply:
        body = _ENCODER.encode(payload).encode("utf-8")
        res_code = payload.get("resCode") if isinstance(payload, dict) else None
        return cls(status=status, body=body, res_code=res_code if isinstance(res_code, int) else None, **kwargs)
