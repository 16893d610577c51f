"""Renders Jinja2 templates in text properties, sandboxed.

Only property values written by the administrator are templates. Values
from the job (names, option values) enter as data and are never parsed.
Jinja2 is imported only when a property holds template syntax, to keep a
plain notification fast.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping

log = logging.getLogger(__name__)

_MARKERS = ("{{", "{%", "{#")


def has_template(text: str) -> bool:
    """True when the text contains Jinja2 syntax."""
    return any(marker in text for marker in _MARKERS)


class Renderer:
    """Renders property values over one notification's context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = context
        self._env: Any = None

    def render(self, name: str, text: str) -> str:
        """The rendered text, or the text as written if the template fails.

        A broken template must not cost the page: the event still goes out
        with the untemplated text, and the log names property and line.
        """
        if not has_template(text):
            return text
        try:
            return self._environment().from_string(text).render(self._context)
        except Exception as err:  # any template failure, see docstring
            line = getattr(err, "lineno", None) or 1
            log.warning(
                "%s: template error on line %s: %s; sending the text as "
                "written", name, line, _describe(err),
            )
            return text

    def _environment(self) -> Any:
        if self._env is None:
            from jinja2 import StrictUndefined
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            self._env = ImmutableSandboxedEnvironment(
                undefined=StrictUndefined, autoescape=False
            )
        return self._env


def _describe(err: Exception) -> str:
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    return message[:200]


def render_all(
    renderer: Renderer, values: Mapping[str, str]
) -> Dict[str, str]:
    """Render each named value, keeping names."""
    return {name: renderer.render(name, text) for name, text in values.items()}
