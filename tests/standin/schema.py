"""Check Events API v2 request bodies against PagerDuty's OpenAPI file.

The file is read from ../shared/pagerduty-schema/ next to the repository
(override the shared directory with the PD_SHARED_DIR environment variable).
This is the schema check only: it is looser than PagerDuty's prose (no
routing_key length, no dedup_key rule for acknowledge/resolve).
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlsplit

import jsonschema

from .server import is_iso8601_datetime

EVENTS_SCHEMA_FILE = "events-v2-openapiv3.json"
SERVER_BASE_PATH = "/v2"


def repo_root() -> Path:
    """The repository root: the parent of tests/."""
    return Path(__file__).resolve().parent.parent.parent


def shared_dir() -> Path:
    """The shared directory (PD_SHARED_DIR or repo_root()/../shared)."""
    override = os.environ.get("PD_SHARED_DIR")
    if override:
        return Path(override)
    return repo_root().parent / "shared"


def events_schema_path() -> Path:
    """Where the Events API v2 OpenAPI file is expected."""
    return shared_dir() / "pagerduty-schema" / EVENTS_SCHEMA_FILE


@functools.lru_cache(maxsize=4)
def _load_document(path: str) -> Dict[str, Any]:
    """Read and cache one OpenAPI JSON document."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_events_document() -> Dict[str, Any]:
    """Load the Events API v2 OpenAPI document."""
    path = events_schema_path()
    if not path.is_file():
        raise FileNotFoundError(
            "PagerDuty Events schema not found at %s (set PD_SHARED_DIR to "
            "the directory holding pagerduty-schema/)" % path)
    return _load_document(str(path))


def _pointer(document: Dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer such as '#/components/schemas/X'."""
    if not ref.startswith("#/"):
        raise ValueError("only local $refs are supported: %s" % ref)
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline_refs(node: Any, document: Dict[str, Any],
                seen: tuple = ()) -> Any:
    """Return node with every local $ref replaced by its target."""
    if isinstance(node, list):
        return [inline_refs(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            raise ValueError("recursive $ref %s" % ref)
        target = _pointer(document, ref)
        return inline_refs(target, document, seen + (ref,))
    return {key: inline_refs(value, document, seen)
            for key, value in node.items()}


def _operation_path(path: str) -> str:
    """Map '/v2/enqueue' or a full URL to the OpenAPI key '/enqueue'."""
    path = urlsplit(path).path or path
    if path.startswith(SERVER_BASE_PATH + "/"):
        path = path[len(SERVER_BASE_PATH):]
    return path


def request_schema(path: str) -> Dict[str, Any]:
    """The JSON request-body schema for POST path, $refs inlined."""
    document = load_events_document()
    key = _operation_path(path)
    try:
        body = document["paths"][key]["post"]["requestBody"]
    except KeyError:
        raise ValueError("no POST operation for %r in %s; known: %s" % (
            path, EVENTS_SCHEMA_FILE, sorted(document["paths"])))
    schema = body["content"]["application/json"]["schema"]
    return inline_refs(schema, document)


def _is_url(value: Any) -> bool:
    """Check the OpenAPI 'url' format: an absolute http(s) URL."""
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_date_time(value: Any) -> bool:
    """Check 'date-time' the way PagerDuty documents it (ISO 8601).

    Strict RFC 3339 would reject PagerDuty's own example
    2015-07-17T08:42:58.315+0000, so a wider ISO 8601 check is used.
    """
    if not isinstance(value, str):
        return True
    return is_iso8601_datetime(value)


def format_checker() -> jsonschema.FormatChecker:
    """A format checker for the formats the Events schema uses."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    checker.checks("url")(_is_url)
    return checker


def _describe(error: Any) -> str:
    """Turn a jsonschema error into 'where: what'."""
    where = ".".join(str(part) for part in error.absolute_path)
    return "%s: %s" % (where or "(root)", error.message)


def validate_events_request(body: Dict[str, Any], path: str) -> List[str]:
    """Validate body against the request schema for path; [] if valid."""
    schema = request_schema(path)
    validator = jsonschema.Draft4Validator(
        schema, format_checker=format_checker())
    errors = sorted(validator.iter_errors(body),
                    key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(error) for error in errors]
