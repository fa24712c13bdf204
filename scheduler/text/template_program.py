"""Rendering the simplest templates without Jinja2: a block's syntax tree kept as data.

Importing Jinja2 and loading the compiled templates was about a third of composing a
release in a cold ``siar preview``, yet the built-in templates only print values, join
lists, escape HTML and test whether a value is there. A block made of nothing else is kept
(beside the compiled templates, see :func:`scheduler.text.templating.load`) as a small
program of those steps, translated from Jinja2's own syntax tree, and run here as Jinja2
runs it (Siar's sandboxed environment: no autoescape, ``StrictUndefined``, the size bounds
of :mod:`scheduler.text.template_limits`):

- text between tags as the parser left it (``trim_blocks``/``lstrip_blocks`` applied);
- ``{{ e }}`` as ``str(e)``; a variable is read from the context, a constant is a string;
- ``a + b`` (Python's ``+``), ``x | join(sep)`` (``str(sep).join(map(str, x))``),
  ``x | e`` / ``x | escape`` (MarkupSafe's ``escape``, Jinja2's own filter);
- ``{% if %}`` / ``elif`` / ``else`` on the truth of such an expression.

Anything else (a loop, ``set``, a macro, a call, another filter or template, a nested
block) leaves the whole template to Jinja2. So does anything this module would do
differently at run time: a name not in the context (``StrictUndefined``), a value past the
size bounds, or any exception — Jinja2 then renders the block and says what went wrong.
``tests/composer/test_template_program.py`` holds the two equal on generated templates and
contexts.
"""

from __future__ import annotations

from typing import Any

from scheduler.text import template_limits

#: changes whenever the program format or what it means changes
PROGRAM_AS = 1


#: names Jinja2 gives a meaning of its own inside a template
_SPECIAL = frozenset({"self", "super", "loop", "caller", "varargs", "kwargs"})


class Unsupported(Exception):
    """This block, or this run of it, is left to Jinja2."""


# --- translating Jinja2's syntax tree ----------------------------------------------------


def translate(tree: Any) -> dict[str, list] | None:
    """Block name → its program, for a template (``jinja2.nodes.Template``) whose every
    block this module can run; None for any other (including one that extends, includes
    or imports a template, or has a macro)."""
    from jinja2 import nodes

    if tree is None:
        return None
    programs: dict[str, list] = {}
    try:
        for node in tree.body:
            if isinstance(node, nodes.Block):
                if node.name in programs or node.scoped or node.required:
                    raise Unsupported(node.name)
                programs[node.name] = _statements(node.body)
            elif not (isinstance(node, nodes.Output)
                      and all(isinstance(item, nodes.TemplateData) for item in node.nodes)):
                raise Unsupported(type(node).__name__)  # text outside blocks is never shown
    except Unsupported:
        return None
    return programs


def _statements(body: list[Any]) -> list:
    from jinja2 import nodes

    program: list = []
    for node in body:
        if isinstance(node, nodes.Output):
            for item in node.nodes:
                if isinstance(item, nodes.TemplateData):
                    program.append(["data", item.data])
                else:
                    program.append(["out", _expression(item)])
        elif isinstance(node, nodes.If):
            branches = [[_expression(node.test), _statements(node.body)]]
            for elif_ in node.elif_:
                branches.append([_expression(elif_.test), _statements(elif_.body)])
            program.append(["if", branches, _statements(node.else_)])
        else:
            raise Unsupported(type(node).__name__)
    return program


def _expression(node: Any) -> list:
    from jinja2 import nodes

    if type(node) is nodes.Name and node.ctx == "load" and node.name not in _SPECIAL:
        return ["name", node.name]
    if type(node) is nodes.Const and type(node.value) is str:
        return ["const", node.value]
    if type(node) is nodes.Add:
        return ["add", _expression(node.left), _expression(node.right)]
    if type(node) is nodes.Filter and node.node is not None and not node.kwargs \
            and node.dyn_args is None and node.dyn_kwargs is None:
        if node.name == "join" and len(node.args) <= 1:
            separator = _expression(node.args[0]) if node.args else ["const", ""]
            if separator[0] == "const":
                return ["join", _expression(node.node), separator[1]]
        elif node.name in ("e", "escape") and not node.args:
            return ["escape", _expression(node.node)]
    raise Unsupported(type(node).__name__)


# --- running a program -------------------------------------------------------------------


def run(program: list, context: dict[str, Any]) -> str:
    """The block's text, as Jinja2 renders it; :class:`Unsupported` where Jinja2 must say
    what happens (a missing name, a value past the bounds, any error)."""
    out: list[str] = []
    try:
        _run(program, context, out)
    except Unsupported:
        raise
    except Exception as exc:  # Jinja2 raises it (or its own error) in its words
        raise Unsupported(repr(exc)) from exc
    text = "".join(out)
    if len(text) > template_limits.MAX_OUTPUT:
        raise Unsupported("too long")
    return text


def _run(program: list, context: dict[str, Any], out: list[str]) -> None:
    for step in program:
        kind = step[0]
        if kind == "data":
            out.append(step[1])
        elif kind == "out":
            out.append(str(_bounded(_value(step[1], context))))
        else:  # "if"
            for test, body in step[1]:
                if _value(test, context):
                    _run(body, context, out)
                    break
            else:
                _run(step[2], context, out)


def _value(expression: list, context: dict[str, Any]) -> Any:
    kind = expression[0]
    if kind == "name":
        if expression[1] not in context:
            raise Unsupported(expression[1])  # StrictUndefined, or one of Jinja2's globals
        return context[expression[1]]
    if kind == "const":
        return expression[1]
    if kind == "add":
        return _bounded(_value(expression[1], context) + _value(expression[2], context))
    if kind == "join":
        return _bounded(str(expression[2]).join(map(str, _value(expression[1], context))))
    if kind == "escape":
        from markupsafe import escape

        return escape(_value(expression[1], context))
    raise Unsupported(kind)


def _bounded(value: Any) -> Any:
    """``value``, unless it is past the bounds Jinja2's environment enforces (it then
    stops the render with its own message)."""
    if isinstance(value, str | list | tuple) and len(value) > template_limits.MAX_OUTPUT:
        raise Unsupported("too large")
    return value
