"""Network templates: finding them, rendering them safely, and splicing bodies into them.

Templates are Jinja2 files, one per network (``templates/<network>.j2``, or the file its
channel's ``template`` names), rendered in a sandbox with ``StrictUndefined`` and within
the time and size bounds of :mod:`scheduler.text.template_limits`. Search order: the
account's own ``template`` file, the deployment's ``templates_dir``, then the built-in
folder. A template defines ``{% block post %}`` (the text of a post) and may define other
blocks (``html``, ``excerpt``, ``subject``). Every template error becomes a :class:`ComposeError`.

Fitting a long release tries many bodies in the same post, so a template is rendered once
around a placeholder and each body is spliced in (:class:`Renderer`). Rendering is pure:
results are remembered, keyed by the template and the whole context.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from scheduler.errors import ComposeError
from scheduler.i18n import _
from scheduler.resources import templates_dir
from scheduler.settings import AccountSettings, Settings, cache_dir
from scheduler.text import markup, template_limits, template_program, template_slots

_BODY_SLOT = "\x00siar-body\x00"
#: changes whenever template_limits changes what the compiled code calls
_COMPILED_AS = 1
#: changes whenever what :func:`_facts` keeps of a template changes
_FACTS_AS = 2
_LIMITS_HINT = (f"a template renders within {template_limits.RENDER_SECONDS:g} s and "
                f"{template_limits.MAX_OUTPUT:,} characters, with range() of at most "
                f"{template_limits.MAX_RANGE:,} items: fix the loop or expression")
_BLANK_LINES = re.compile(r"\n\n\n+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per loaded template
class Template:
    """A loaded template: each block as a function of the context."""

    blocks: dict[str, Callable[[dict[str, Any]], str]]
    #: where it was found: its search path and file name (for :func:`may_read`)
    search_path: tuple[str, ...] = ()
    name: str = ""


class Renderer(NamedTuple):
    """Puts a body into the rendered template: spliced into the frame, or rendered anew.

    A named tuple: one is made for every post of a calendar and is a key of the composer's
    memos, and a tuple is made and hashed in C (a frozen dataclass in Python)."""

    before: str
    after: str
    telegram: bool
    #: set only when the template cannot be spliced (it uses the body other than once)
    render: Callable[[str], str] | None = None

    def __call__(self, body: str) -> str:
        if self.telegram:
            body = markup.close_open_tags(body)
        if self.render is not None:
            return tidy(self.render(body))
        return tidy(self.before + body + self.after)


@lru_cache(maxsize=2048)
def spliced(template: Template, context: tuple[tuple[str, Any], ...],
            telegram: bool) -> Renderer | None:
    """The post block rendered once around a placeholder, ready to take any body; None if
    the template uses the body other than once, verbatim (then it is rendered per body)."""
    frame = template_slots.render(template, "post", {**dict(context), "body": _BODY_SLOT},
                                  parsed, printed_only)
    if frame.count(_BODY_SLOT) != 1:
        return None
    before, after = frame.split(_BODY_SLOT)
    # tidied once here, so that joining a body in rarely needs the regexes again
    return Renderer(tidy_inside(before), tidy_inside(after), telegram)


#: where a release's title goes in a frame of :func:`spliced_titled` (random per process:
#: no release, setting or template can hold it)
_TITLE_SLOT = f"\x00siar-title-{secrets.token_hex(8)}\x00"


@lru_cache(maxsize=512)  # the same release composed again (a preview) gets the same object
def spliced_titled(pieces: tuple[str, ...] | None, title: str,
                   telegram: bool) -> Renderer | None:
    """What :func:`spliced` gives for a context with ``title`` (already written for the
    network), from the frame cut where the title goes (``pieces``: :func:`title_frame` of
    the rest of the context). A content calendar's releases differ in title and body, so
    the frame is made once for all of them (making one per release was half of composing
    a short release). None where there are no pieces, where the text would be over the
    render's size bound, or where the body is not spliced in once: the caller then takes
    :func:`spliced`'s way, which gives the text or the error.
    ``tests/composer/test_title_frames.py`` compares both."""
    if pieces is None or len(title) > template_slots.LONGEST:
        return None
    frame = title.join(pieces)
    if len(frame) > template_limits.MAX_OUTPUT or frame.count(_BODY_SLOT) != 1:
        return None
    before, after = frame.split(_BODY_SLOT)
    return Renderer(tidy_inside(before), tidy_inside(after), telegram)


def title_frame(template: Template, context: dict[str, Any]) -> tuple[str, ...] | None:
    """The post block rendered with ``context`` and a stand-in for the title, cut at it,
    for :func:`spliced_titled`; None if the block uses the title other than printing it as
    it is (then only rendering with it says what it gives) or does not render (the usual
    way raises the error)."""
    if "title" not in printed_only(template).get("post", ()):
        return None
    try:
        frame = template.blocks["post"]({**context, "title": _TITLE_SLOT, "body": _BODY_SLOT})
    except Exception:  # rendered again the usual way, which reports it
        return None
    return tuple(frame.split(_TITLE_SLOT))


@lru_cache(maxsize=512)
def render_block(template: Template, name: str, context: tuple[tuple[str, Any], ...]) -> str:
    """Any other block (WordPress/e-mail HTML, excerpt, subject), tidied; memoised."""
    return tidy(template_slots.render(template, name, dict(context), parsed, printed_only))


@lru_cache(maxsize=64)
def _environment(search_path: tuple[str, ...]) -> Any:
    # Jinja2 is imported here, not at module level, to keep the CLI's start-up light
    from jinja2 import FileSystemLoader, StrictUndefined

    return template_limits.bounded_environment_class()(
        loader=FileSystemLoader(list(search_path)), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=False,
        bytecode_cache=_bytecode_cache(),
    )


def _bytecode_cache() -> Any:
    """Compiled templates kept between processes, in ``cache_dir()/templates``: compiling
    the 14 built-in templates took about 40 ms of every ``siar preview``, loading them 4 ms.
    Jinja2 checks each entry against the template's source, so an edited template is
    compiled again. None (no cache) where the folder cannot be made."""
    from jinja2 import FileSystemBytecodeCache

    class BestEffortBytecodeCache(FileSystemBytecodeCache):
        """A cache that never fails a render: an unreadable or vanished folder (the daemon
        runs for weeks; someone may clear ~/.cache) only means compiling again."""

        def load_bytecode(self, bucket: Any) -> None:
            with suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Any) -> None:
            with suppress(OSError):
                super().dump_bytecode(bucket)

    folder = cache_dir() / "templates"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    # The pattern names the compiler's settings: code compiled without the size checks of
    # template_limits (an older Siar) must never be loaded in their place.
    return BestEffortBytecodeCache(str(folder), pattern=f"bounded-{_COMPILED_AS}-%s.cache")


def find(account: AccountSettings, settings: Settings,
         network_template: str) -> tuple[tuple[str, ...], str]:
    """(search path, file name) of the template ``account`` uses; ``network_template`` is
    the file its channel names (:attr:`channels.base.Channel.template`)."""
    return _find_template(account.name, network_template, account.template,
                          settings.templates_dir, settings.config_file)


@lru_cache(maxsize=256)
def _find_template(account: str, network_template: str, template: str | None,
                   deployment_dir: Path | None,
                   config_file: Path | None) -> tuple[tuple[str, ...], str]:
    """(search path, template name): the account's own file, the deployment's, the built-in."""
    search = [str(templates_dir())]
    if deployment_dir:
        search.insert(0, str(Path(deployment_dir).expanduser()))
    if template:
        own = Path(template).expanduser()
        if not own.is_absolute() and deployment_dir:
            candidate = Path(deployment_dir).expanduser() / own
            own = candidate if candidate.is_file() else own
        if not own.is_file() and config_file:
            candidate = config_file.parent / template
            own = candidate if candidate.is_file() else own
        if not own.is_file():
            raise ComposeError(
                _("account {account}: template {template} not found").format(
                    account=repr(account), template=repr(template)),
                hint=_("give a path relative to templates_dir or the config file, or an "
                       "absolute path"),
            )
        return (str(own.resolve().parent), *search), own.name
    name = network_template
    if not any((Path(folder) / name).is_file() for folder in search):
        name = "webhook.j2"  # a third-party network without its own template
    return tuple(search), name


@lru_cache(maxsize=128)
def load(search_path: tuple[str, ...], name: str) -> Template:
    """The template ``name`` from ``search_path``, compiled once per process; run without
    Jinja2 when its every block is a program kept from an earlier run
    (:mod:`scheduler.text.template_program`, found under the hash of its source)."""
    source = _source(search_path, name)
    stored = _stored_facts(_digest(name, source)) if source is not None else None
    programs = stored.get("programs") if stored is not None else None
    if isinstance(programs, dict) and "post" in programs:
        return Template({block: _program_block(search_path, name, block, program)
                         for block, program in programs.items()}, search_path, name)
    return Template(_jinja_blocks(search_path, name), search_path, name)


def _program_block(search_path: tuple[str, ...], name: str, block: str,
                   program: list) -> Callable[[dict[str, Any]], str]:
    def run(context: dict[str, Any]) -> str:
        try:
            return template_program.run(program, context)
        except template_program.Unsupported:  # Jinja2 renders it, and says what is wrong
            return _jinja_blocks(search_path, name)[block](context)
    return run


@lru_cache(maxsize=128)
def _jinja_blocks(search_path: tuple[str, ...],
                  name: str) -> dict[str, Callable[[dict[str, Any]], str]]:
    """Each block of the template compiled by Jinja2, as a function of the context."""
    from jinja2 import TemplateError

    try:
        template = _environment(search_path).get_template(name)
    except TemplateError as exc:
        raise ComposeError(f"template {name}: {exc}",
                           hint=_("fix the template's Jinja2 syntax")) from exc
    if "post" not in template.blocks:
        raise ComposeError(_("template {name} has no {block}").format(
            name=name, block="{% block post %}"),
            hint=_("every network template defines the post text in block 'post'"))

    def block(render: Callable) -> Callable[[dict[str, Any]], str]:
        def run(context: dict[str, Any]) -> str:
            try:
                with template_limits.budget():
                    return template_limits.collect(render(template.new_context(context)))
            except template_limits.LimitReached as exc:
                raise ComposeError(f"template {name}: {exc}", hint=_LIMITS_HINT) from exc
            except (RecursionError, MemoryError, OverflowError) as exc:  # a macro calling
                # itself without end, a value too large for memory or for a C integer
                raise ComposeError(f"template {name}: {exc.__class__.__name__}: {exc}",
                                   hint=_LIMITS_HINT) from exc
            except TemplateError as exc:  # incl. undefined names and sandbox refusals
                raise ComposeError(f"template {name}: {exc}",
                                   hint=_("templates may use: {names}").format(
                                       names=", ".join(sorted(context)))) from exc
        return run

    return {key: block(render) for key, render in template.blocks.items()}


@lru_cache(maxsize=128)
def parsed(template: Template) -> Any:
    """The template's syntax tree (``jinja2.nodes.Template``), read again from its file;
    None if it cannot be read or parsed any more."""
    from jinja2 import TemplateError

    environment = _environment(template.search_path)
    try:
        source = environment.loader.get_source(environment, template.name)[0]
        return environment.parse(source)
    except (TemplateError, OSError):
        return None


@lru_cache(maxsize=128)
def may_read(template: Template, variable: str) -> bool:
    """Whether ``template`` may use the context variable ``variable``: named anywhere in
    it, or it includes, imports or extends another template (which is not looked into).
    A yes is always safe; a no means its output cannot depend on the variable."""
    names = _facts(template)[1]
    return names is None or variable in names


def printed_only(template: Template) -> dict[str, frozenset[str]]:
    """Block name → the variables it only prints as they are
    (:func:`template_slots.analyse`), known without parsing the template again."""
    return _facts(template)[0]


@lru_cache(maxsize=128)
def _facts(template: Template) -> tuple[dict[str, frozenset[str]], frozenset[str] | None]:
    """(:func:`printed_only`, the variables the template reads or None if it includes
    others), kept beside the compiled templates (``cache_dir()/templates``) under the
    hash of the template's source: parsing every account's template again for these
    facts was a third of composing a release in each ``siar preview``. The blocks' programs
    (:mod:`scheduler.text.template_program`) are kept with them, for :func:`load`."""
    import json

    source = _source(template.search_path, template.name)
    if source is None:  # a name this module does not look up itself: as Jinja2 finds it
        from jinja2 import TemplateError

        environment = _environment(template.search_path)
        try:
            source = environment.loader.get_source(environment, template.name)[0]
        except (TemplateError, OSError):  # gone or unreadable: as parse() finds it
            return _facts_of(parsed(template))
    digest = _digest(template.name, source)
    stored = _stored_facts(digest)
    with suppress(ValueError, KeyError, TypeError, AttributeError):
        if stored is not None:
            names = stored["names"]
            return ({block: frozenset(found)
                     for block, found in stored["printed_only"].items()},
                    None if names is None else frozenset(names))
    tree = parsed(template)
    facts = _facts_of(tree)
    if tree is not None:
        from scheduler.text.template_program import translate

        kept = cache_dir() / "templates" / f"facts-{digest}.json"
        with suppress(OSError):  # best effort, as the compiled templates
            temporary = kept.with_name(f"{kept.name}.{os.getpid()}")
            temporary.write_text(json.dumps({
                "printed_only": {block: sorted(found) for block, found in facts[0].items()},
                "names": None if facts[1] is None else sorted(facts[1]),
                "programs": translate(tree)}), encoding="utf-8")
            os.replace(temporary, kept)
    return facts


@lru_cache(maxsize=128)  # read once per process, like the compiled template (load)
def _source(search_path: tuple[str, ...], name: str) -> str | None:
    """The template's source as Jinja2's ``FileSystemLoader`` finds it (the first folder
    of ``search_path`` holding the file, read as UTF-8), for a plain file name; None for
    any other name, or a file missing or unreadable (Jinja2 then says why)."""
    if not name or name in (".", "..") or "/" in name or os.sep in name \
            or (os.altsep is not None and os.altsep in name):
        return None
    for folder in search_path:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as file:
                    return file.read()
            except (OSError, ValueError):
                return None
    return None


def _digest(name: str, source: str) -> str:
    import hashlib

    return hashlib.sha256(f"{_FACTS_AS}\0{template_program.PROGRAM_AS}\0{_jinja_installed()}"
                          f"\0{name}\0{source}".encode()).hexdigest()


@lru_cache(maxsize=1)
def _jinja_installed() -> str:
    """Which Jinja2 is installed (its package file, size and time), known without importing
    it: the facts and programs were read from that version's parser."""
    from importlib.util import find_spec

    spec = find_spec("jinja2")
    origin = spec.origin if spec is not None else None
    try:
        found = os.stat(origin) if origin else None
    except OSError:
        found = None
    return f"{origin}:{found.st_size}:{found.st_mtime_ns}" if found else f"{origin}"


@lru_cache(maxsize=128)
def _stored_facts(digest: str) -> dict[str, Any] | None:
    """The facts kept under ``digest``, or None (none kept, or unreadable)."""
    import json

    with suppress(OSError, ValueError):
        stored = json.loads((cache_dir() / "templates" / f"facts-{digest}.json")
                            .read_text(encoding="utf-8"))
        return stored if isinstance(stored, dict) else None
    return None


def _facts_of(tree: Any) -> tuple[dict[str, frozenset[str]], frozenset[str] | None]:
    from jinja2 import meta

    if tree is None or any(True for _name in meta.find_referenced_templates(tree)):
        return template_slots.analyse(tree), None
    return template_slots.analyse(tree), frozenset(meta.find_undeclared_variables(tree))


def tidy_inside(text: str) -> str:
    """Like :func:`tidy` but keeping the ends (where a body is joined on)."""
    # each pattern can only match where its plain substring is: most frames have neither
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text


def tidy(text: str) -> str:
    """Blank lines left by empty template fields collapse; nothing trails a line."""
    text = text.strip()
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text
