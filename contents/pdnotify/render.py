"""Renders Jinja2 templates in text properties, sandboxed.

Only property values written by the administrator are templates. Values
from the job (names, option values) enter as data and are never parsed,
even when Rundeck has already pasted one into a property
(``Deploy ${option.version}`` arriving as ``Deploy {{ 7*7 }}``): such
pasted text is set aside before rendering and put back after. Jinja2 is
imported only when a property holds template syntax, to keep a plain
notification fast.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Mapping, Tuple

from . import deadline

log = logging.getLogger(__name__)

RENDER_SECONDS = 5.0
"""The most one property's template may take; then its text is sent."""

_MARKERS = ("{{", "{%", "{#")
_SYNTAX = set("{}%#")


def has_template(text: str) -> bool:
    """True when the text contains Jinja2 syntax."""
    return any(marker in text for marker in _MARKERS)


class Renderer:
    """Renders property values over one notification's context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = context
        self._env: Any = None
        # Job data that could make up template syntax, even half of it
        # ("{" next to "{ 7*7 }}"): longest first, so a value that contains
        # another is set aside whole. Setting aside a value like "{" can
        # leave the administrator's own template unrendered: safe, as the
        # text then goes out as written.
        self._pasted = sorted(
            {v for v in _strings(context) if _SYNTAX & set(v)},
            key=len, reverse=True,
        )

    def render(self, name: str, text: str) -> str:
        """The rendered text, or the text as written if the template fails.

        A broken template must not cost the page: the event still goes out
        with the untemplated text, and the log names property and line.
        """
        if not has_template(text):
            return text
        guarded, pasted = _set_aside(text, self._pasted)
        if not has_template(guarded):
            return text
        try:
            with deadline.limit(RENDER_SECONDS):
                template = self._environment().from_string(guarded)
                return text_only(
                    _put_back(template.render(self._context), pasted))
        except deadline.Overrun:
            log.warning("%s: template took longer than %g s; sending the "
                        "text as written", name, RENDER_SECONDS)
            return text
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


# Private-use characters: no template syntax, and not in ordinary text.
_SLOT = "\ue000%d\ue001"


def _set_aside(text: str, pasted: List[str]) -> Tuple[str, List[str]]:
    """Replace job data found in the text with numbered slots."""
    found: List[str] = []
    for value in pasted:
        if value in text:
            text = text.replace(value, _SLOT % len(found))
            found.append(value)
    return text, found


def _put_back(text: str, found: List[str]) -> str:
    for index, value in enumerate(found):
        text = text.replace(_SLOT % index, value)
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)


def text_only(text: str) -> str:
    """Text that encodes as UTF-8: a lone surrogate becomes "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _describe(err: Exception) -> str:
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    return message[:200]


def render_all(
    renderer: Renderer, values: Mapping[str, str]
) -> Dict[str, str]:
    """Render each named value, keeping names."""
    return {name: renderer.render(name, text) for name, text in values.items()}
