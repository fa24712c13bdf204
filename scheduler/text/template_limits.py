"""Bounds on rendering a template: time, output size, and the size of every value made.

Templates come from the deployment (``templates_dir``, an account's ``template``), so a
mistake in one — ``range(10**9)``, two nested loops over a long list, ``'a' * 10**9`` —
must end quickly with a message naming the template, not hang ``siar add`` or take a
gigabyte. Jinja2's sandbox is the base; on top of it, through its public hooks:

- each block renders within :data:`RENDER_SECONDS` and :data:`MAX_OUTPUT` characters,
  checked on every chunk it yields (a streaming render) and, between chunks, at every
  step the template takes through a hook: each ``range`` step, call, attribute or item
  look-up, arithmetic operator and ``{{ … }}`` output;
- operators and calls that make one large value from small ones are checked *before*
  they run (``*``, ``**``, ``+``, ``%``, ``str.ljust/center/zfill/…``, ``replace``,
  ``join``, ``format`` and the filters ``center``, ``indent``, ``format``, ``join``,
  ``replace``, ``wordwrap``), since a 1 GB string, once made, is too late;
- ``range`` gives at most :data:`MAX_RANGE` items.

A loop whose body does nothing at all (no output, no call, no look-up) over values the
template was given cannot be interrupted; those values are bounded by the release's own
size limit (2 MB).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any

#: the most characters a block may produce, and any string or list made inside it: a post
#: or an e-mail/WordPress page is far smaller; a 2 MB release turned into HTML fits
MAX_OUTPUT = 10_000_000
#: the longest a block may take; a normal one takes about a millisecond
RENDER_SECONDS = 2.0
#: the most items ``range()`` gives (Jinja2's sandbox allows 100,000 but raises an error
#: that is not a template error)
MAX_RANGE = 100_000
#: the largest integer ``*`` and ``**`` may make, in bits (a 30,000-digit number)
MAX_INT_BITS = 100_000


class LimitReached(Exception):
    """A template went beyond one of the bounds; the message says which."""


_DEADLINE: ContextVar[float | None] = ContextVar("siar_template_deadline", default=None)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FIELD_NUMBER = re.compile(r"\d+")


@contextmanager
def budget() -> Iterator[None]:
    """Give the render inside the ``with`` :data:`RENDER_SECONDS` from now."""
    token = _DEADLINE.set(time.monotonic() + RENDER_SECONDS)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def tick() -> None:
    """Raise :class:`LimitReached` once the current render is past its deadline."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise LimitReached(f"took longer than {RENDER_SECONDS:g} s to render (a loop that "
                           "does not end, or too many items)")


def collect(chunks: Iterator[str]) -> str:
    """Join a block's chunks as they come, stopping at :data:`MAX_OUTPUT` characters or
    at the deadline (a streaming render: the whole output never has to exist first)."""
    blocks: list[str] = []  # every 4,096 chunks joined: millions of tiny chunks as separate
    parts: list[str] = []   # objects would cost far more memory than their text
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise LimitReached(f"produced more than {MAX_OUTPUT:,} characters")
        tick()
        parts.append(chunk)
        if len(parts) == 4096:
            blocks.append("".join(parts))
            parts.clear()
    return "".join(blocks) + "".join(parts) if blocks else "".join(parts)


def _fits(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise LimitReached(f"{what} would make {size:,} characters or items "
                           f"(at most {MAX_OUTPUT:,})")


def _checked_result(value: Any) -> Any:
    if isinstance(value, str | list | tuple):
        _fits(len(value), "a value")
    return value


# --- what each operation would make ------------------------------------------------------


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an arithmetic operator whose result would be too large, before it runs."""
    tick()
    sized = str | list | tuple
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int) \
                and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise LimitReached(f"a product larger than {MAX_INT_BITS:,} bits")
        for items, times in ((left, right), (right, left)):
            if isinstance(items, sized) and isinstance(times, int):
                _fits(len(items) * times, "'*'")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0 \
                and right * left.bit_length() > MAX_INT_BITS:
            raise LimitReached(f"a power larger than {MAX_INT_BITS:,} bits")
    elif operator == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            _fits(len(left) + len(right), "'+'")
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, right)


def _check_printf(text: str, values: Any) -> None:
    """``'%0999999999d' % 1``: widths and precisions, written or given by ``*``."""
    star = False
    for match in _PRINTF.finditer(text):
        for number in match.groups():
            if number == "*":
                star = True
            elif number:
                _fits(int(number), "a '%' width")
    if star:
        given = values if isinstance(values, tuple) else (values,)
        for value in given:
            if isinstance(value, int):
                _fits(value, "a '%' width")


def _check_format_fields(text: str, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """``'{:>999999999}'.format(1)``: every number in a field, and nested widths."""
    for field in re.findall(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}", text):
        for number in _FIELD_NUMBER.findall(field.partition(":")[2]):
            _fits(int(number), "a format width")
        if field.count("{") > 1:  # a width taken from the arguments
            for value in (*args, *kwargs.values()):
                if isinstance(value, int):
                    _fits(value, "a format width")


def _replaced_size(text: str, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def _joined_size(separator: Any, items: Any) -> int:
    if not isinstance(items, list | tuple | str):
        return 0  # a generator: measured as it is made, by the result check
    sizes = sum(len(item) if isinstance(item, str) else 0 for item in items)
    return sizes + len(str(separator)) * max(0, len(items) - 1)


def check_call(function: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a string method whose result would be too large, before it runs."""
    tick()
    # the sandbox hands str.format over wrapped; functools keeps the original at __wrapped__
    target = getattr(function, "__wrapped__", function)
    text = getattr(target, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(target, "__name__", "")
    first = args[0] if args else None
    if name in ("ljust", "rjust", "center", "zfill") and isinstance(first, int):
        _fits(first, f"str.{name}")
    elif name == "expandtabs":
        size = first if isinstance(first, int) else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _fits(len(text) + text.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        _fits(_replaced_size(text, *args[:3]), "str.replace")
    elif name == "join" and args:
        _fits(_joined_size(text, first), "str.join")
    elif name in ("format", "format_map"):
        _check_format_fields(text, args, kwargs)


# --- filters ----------------------------------------------------------------------------


def _filter_guards() -> dict[str, Callable[..., None]]:
    """Filter name → a check of its arguments (value first, as the template wrote them)."""
    def center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
        if isinstance(width, int):
            _fits(max(len(str(value)), width), "the center filter")

    def indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        step = width if isinstance(width, int) else len(str(width))
        text = str(value)
        _fits(len(text) + (text.count("\n") + 1) * step, "the indent filter")

    def format_(value: Any, *args: Any, **kwargs: Any) -> None:
        _check_printf(str(value), tuple(args) or kwargs)

    def join(value: Any, d: Any = "", *_: Any, **__: Any) -> None:
        _fits(_joined_size(d, value), "the join filter")

    def replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
        _fits(_replaced_size(str(value), old, new, -1 if count is None else count),
              "the replace filter")

    def wordwrap(value: Any, width: Any = 79, break_long_words: Any = True,
                 wrapstring: Any = None, *_: Any, **__: Any) -> None:
        text = str(value)
        lines = len(text) // max(1, width if isinstance(width, int) else 1) + text.count("\n")
        _fits(len(text) + (lines + 1) * len(str(wrapstring or "\n")), "the wordwrap filter")

    return {"center": center, "indent": indent, "format": format_, "join": join,
            "replace": replace, "wordwrap": wordwrap}


def guard_filters(filters: dict[str, Callable[..., Any]], passed: tuple[type, ...]) -> None:
    """Wrap the filters that can make a large value from small arguments, and check every
    filter's result. ``passed``: the types Jinja2 hands as a first argument before the
    value (environment, eval context, context) to filters that ask for them."""
    guards = _filter_guards()
    for name, original in list(filters.items()):
        filters[name] = _guarded(original, guards.get(name), passed)


def _guarded(original: Callable[..., Any], guard: Callable[..., None] | None,
             passed: tuple[type, ...]) -> Callable[..., Any]:
    @wraps(original)  # keeps what Jinja2 reads from the filter (what it is passed)
    def run(*args: Any, **kwargs: Any) -> Any:
        tick()
        if guard is not None:
            shown = args[1:] if args and isinstance(args[0], passed) else args
            guard(*shown, **kwargs)
        return _checked_result(original(*args, **kwargs))
    return run


# --- range ------------------------------------------------------------------------------


class Steps(Sequence[int]):
    """``range()`` for templates: at most :data:`MAX_RANGE` items, the render's deadline
    checked at every step."""

    def __init__(self, *args: int) -> None:
        self._range = range(*args)
        try:
            length = len(self._range)
        except OverflowError:  # beyond sys.maxsize
            length = MAX_RANGE + 1
        if length > MAX_RANGE:
            raise LimitReached(f"range() of more than {MAX_RANGE:,} items")

    def __iter__(self) -> Iterator[int]:
        for number in self._range:
            tick()
            yield number

    def __reversed__(self) -> Iterator[int]:
        for number in reversed(self._range):
            tick()
            yield number

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __repr__(self) -> str:
        return repr(self._range)


@lru_cache(maxsize=1)
def bounded_environment_class() -> type:
    """The sandboxed environment with these bounds (built on first use: Jinja2 is imported
    only when a template is rendered, to keep the CLI's start-up light)."""
    from jinja2 import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedEnvironment(SandboxedEnvironment):
        """Jinja2's sandbox with the time, size and range bounds of this module."""

        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def __init__(self, **options: Any) -> None:
            super().__init__(finalize=_finalize, **options)
            self.globals["range"] = Steps
            guard_filters(self.filters, (Environment, EvalContext, Context))

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check_binop(operator, left, right)
            return _checked_result(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any,
                 **kwargs: Any) -> Any:
            check_call(__obj, args, kwargs)
            return _checked_result(super().call(__context, __obj, *args, **kwargs))

        # A value read back is measured too: `~` (joining) has no hook, but a string that
        # keeps doubling through a namespace is read at each step.
        def getattr(self, obj: Any, attribute: str) -> Any:
            tick()
            return _checked_result(super().getattr(obj, attribute))

        def getitem(self, obj: Any, argument: Any) -> Any:
            tick()
            return _checked_result(super().getitem(obj, argument))

    return BoundedEnvironment


def _finalize(value: Any) -> Any:
    """Every ``{{ … }}`` output passes here: a checkpoint for loops that only print."""
    tick()
    return _checked_result(value)
