"""Check requests against PagerDuty's OpenAPI files (Events and REST).

The files are read from ../shared/pagerduty-schema/ next to the repository
(override the shared directory with the PD_SHARED_DIR environment variable).
This is the schema check only: it is looser than PagerDuty's prose (no
routing_key length, no dedup_key rule for acknowledge/resolve).  REST
operations come from the full REST file, or from the small extract for the
retired Response Plays run operation that the full file no longer has.
"""
from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import jsonschema

from .server import is_iso8601_datetime

EVENTS_SCHEMA_FILE = "events-v2-openapiv3.json"
REST_SCHEMA_FILES = ("rest-openapiv3.json",
                     "rest-extract-escalate-workflow-responseplay.json")
SERVER_BASE_PATH = "/v2"
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")


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


def _load_schema_file(path: Path) -> Dict[str, Any]:
    """Load one schema file or explain where it was expected."""
    if not path.is_file():
        raise FileNotFoundError(
            "PagerDuty schema not found at %s (set PD_SHARED_DIR to "
            "the directory holding pagerduty-schema/)" % path)
    return _load_document(str(path))


def load_events_document() -> Dict[str, Any]:
    """Load the Events API v2 OpenAPI document."""
    return _load_schema_file(events_schema_path())


def rest_schema_paths() -> List[Path]:
    """Where the REST files are expected: the full file, then the extract."""
    folder = shared_dir() / "pagerduty-schema"
    return [folder / name for name in REST_SCHEMA_FILES]


def load_rest_documents() -> List[Dict[str, Any]]:
    """Load the REST OpenAPI documents (full file first)."""
    return [_load_schema_file(path) for path in rest_schema_paths()]


def _pointer(document: Dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer such as '#/components/schemas/X'."""
    if not ref.startswith("#/"):
        raise ValueError("only local $refs are supported: %s" % ref)
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
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
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
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


# ------------------------------------------------------------------ REST

def _template_regex(template: str) -> Any:
    """Compile an OpenAPI path template such as '/incidents/{id}'."""
    return re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+",
                             re.escape(template)))


def find_rest_operation(method: str,
                        path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Find (document, operation) for a request path such as '/incidents/X'.

    The full REST file wins; the extract supplies the retired Response
    Plays run operation.
    """
    path = urlsplit(path).path or path
    for document in load_rest_documents():
        for template, item in document["paths"].items():
            operation = item.get(method.lower())
            if operation and _template_regex(template).fullmatch(path):
                return document, operation
    raise ValueError("no %s operation for %r in %s" % (
        method.upper(), path, " or ".join(REST_SCHEMA_FILES)))


def openapi_to_jsonschema(node: Any) -> Any:
    """Turn OpenAPI 3.0 'nullable: true' into JSON Schema null types."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: openapi_to_jsonschema(value)
              for key, value in node.items()}
    if result.pop("nullable", False) is True:
        if isinstance(result.get("type"), str):
            result["type"] = [result["type"], "null"]
        if isinstance(result.get("enum"), list):
            result["enum"] = result["enum"] + [None]
    return result


def _is_email(value: Any) -> bool:
    """Check the 'email' format: one address such as ops@example.com."""
    if not isinstance(value, str):
        return True
    return _EMAIL.fullmatch(value) is not None


def rest_format_checker() -> jsonschema.FormatChecker:
    """The Events format checker plus 'email' (the From header)."""
    checker = format_checker()
    checker.checks("email")(_is_email)
    return checker


def _check(schema: Dict[str, Any], value: Any) -> List[Any]:
    """Validate value against a ready JSON schema; sorted errors."""
    validator = jsonschema.Draft4Validator(
        schema, format_checker=rest_format_checker())
    return sorted(validator.iter_errors(value),
                  key=lambda e: [str(p) for p in e.absolute_path])


def _ready(node: Any, document: Dict[str, Any]) -> Any:
    """Inline $refs and convert OpenAPI nullable to JSON Schema."""
    return openapi_to_jsonschema(inline_refs(node, document))


def _parameters(document: Dict[str, Any], operation: Dict[str, Any],
                where: str) -> List[Dict[str, Any]]:
    """The operation's parameters located in where ('header', 'query')."""
    params = [inline_refs(p, document)
              for p in operation.get("parameters", [])]
    return [p for p in params if p.get("in") == where]


def _header_value(headers: Dict[str, str], name: str) -> Optional[str]:
    """Look a header up case-insensitively."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _header_errors(document: Dict[str, Any], operation: Dict[str, Any],
                   headers: Dict[str, str]) -> List[str]:
    """Check the header parameters the schema declares."""
    errors: List[str] = []
    for param in _parameters(document, operation, "header"):
        name = param["name"]
        if name.lower() == "content-type" and \
                "requestBody" not in operation:
            # The schema marks Content-Type required even on GET; a request
            # without a body has nothing to describe, so it is not checked.
            continue
        value = _header_value(headers, name)
        if value is None:
            if param.get("required"):
                errors.append("header %s: required but missing" % name)
            continue
        if name.lower() == "content-type":
            value = value.split(";")[0].strip()
        errors += ["header %s: %s" % (name, error.message) for error in
                   _check(_ready(param.get("schema", {}), document), value)]
    return errors


def _query_value(text: str, schema: Dict[str, Any]) -> Any:
    """Convert one query string value to the type the schema expects."""
    if schema.get("type") == "integer" and text.lstrip("-").isdigit():
        return int(text)
    if schema.get("type") == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _query_errors(document: Dict[str, Any], operation: Dict[str, Any],
                  query: str) -> List[str]:
    """Check query parameters: declared names, values of declared type."""
    declared = {p["name"]: p for p in
                _parameters(document, operation, "query")}
    errors: List[str] = []
    for name, values in sorted(parse_qs(query, True).items()):
        if name not in declared:
            errors.append("query %s: not a parameter of this operation"
                          % name)
            continue
        schema = _ready(declared[name].get("schema", {}), document)
        if schema.get("type") == "array":
            schema = schema.get("items", {})
        for value in values:
            errors += ["query %s: %s" % (name, error.message) for error in
                       _check(schema, _query_value(value, schema))]
    return errors


def _body_errors(document: Dict[str, Any], operation: Dict[str, Any],
                 body: Any) -> List[str]:
    """Check the JSON request body against the operation's schema."""
    request = operation.get("requestBody")
    if request is None:
        return [] if body is None else [
            "(root): this operation takes no request body"]
    if body is None:
        return ["(root): the JSON request body is missing"]
    request = inline_refs(request, document)
    schema = request["content"]["application/json"]["schema"]
    return [_describe(error) for error in _check(_ready(schema, document),
                                                 body)]


def validate_rest_request(method: str, path: str, headers: Dict[str, str],
                          body: Any) -> List[str]:
    """Check a REST request's headers, query and body; [] if valid.

    path may carry a query string or be a full URL; body is the decoded
    JSON (None when there is no body).
    """
    document, operation = find_rest_operation(method, path)
    return (_header_errors(document, operation, headers)
            + _query_errors(document, operation, urlsplit(path).query)
            + _body_errors(document, operation, body))


def validate_rest_response(method: str, path: str, status: int,
                           body: Any) -> List[str]:
    """Check a REST response body against the documented response."""
    document, operation = find_rest_operation(method, path)
    response = operation.get("responses", {}).get(str(status))
    if response is None:
        return ["(root): %d is not a documented response of %s %s"
                % (status, method.upper(), path)]
    content = inline_refs(response, document).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return []
    return [_describe(error) for error in _check(_ready(schema, document),
                                                 body)]
