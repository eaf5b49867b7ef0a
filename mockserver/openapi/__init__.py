"""An OpenAPI 3.1 document of every public endpoint of the fake, built from ``schemas/``.

OpenAPI 3.1 schema objects are JSON Schema 2020-12, so the request and response schemas are
embedded as they are under ``components/schemas`` (one component per file in ``schemas/``,
named by its file stem) and their ``$ref``s are rewritten to point there: the shapes live once,
in ``schemas/``; this package only adds what OpenAPI itself needs (paths, methods, media
types, parameters, status codes). The route table (``routes/``) is the list of endpoints; a
test checks that the document and the table name the same (method, path) pairs.

document.py puts it together from vendor_paths.py (submit, query, scenes, plain and signed),
fake_paths.py (images, dashboard, admin API) and components.py (the schemas and references to
them); cli.py is ``bgmock openapi``, which prints it: load it into Swagger UI, Prism, Postman or
Schemathesis.
"""

from __future__ import annotations

from .components import COMPONENTS
from .document import ADMIN_HEADER, build_document

__all__ = ["ADMIN_HEADER", "COMPONENTS", "build_document"]
