"""What every ``ngap`` command shares: the exit-status contract, consoles, ``--lang``, ``--debug``.

The exit status is a contract scripts rely on, so it is enforced once, around every command
(``NgapGroup.main``), rather than by each command:

* **0** an answer, or a claim found valid;
* **1** a claim breaks a rule (``check``), defects found (``analyse``, ``validate-ruleset``);
* **2** bad input or usage: unknown option, unreadable file, impossible date, unknown field…;
* **3** an internal error or a fault of the environment (disk full, permission denied, a bug):
  one line on stderr and no traceback, unless ``--debug``;
* 130 interrupted (Ctrl-C), as the shell does.

``--lang fr|en`` and ``--debug`` are accepted by every command (and before it, ``ngap --lang en
optimise …``); commands that print text ask ``language()``.  French is the default.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ngap.model.labels import LANGS, Lang, closest


class ExitCode(IntEnum):
    OK = 0
    RULE_BROKEN = 1
    BAD_INPUT = 2
    FAULT = 3
    INTERRUPTED = 130


out = Console(soft_wrap=True)
"""Standard output.  ``soft_wrap``: a line of text is never cut at the terminal's width."""
err = Console(stderr=True, soft_wrap=True, highlight=False)
"""Standard error: one message, one line, whatever the width of the terminal or the path."""


@dataclass
class _State:
    lang: Lang | None = None
    debug: bool = False


STATE = _State()
"""Options given to this invocation (reset by every ``NgapGroup.main``)."""

LANG_ENV = "NGAP_LANG"
DEBUG_ENV = "NGAP_DEBUG"


def _lang_of(value: str, source: str) -> Lang:
    wanted = value.strip().lower()
    for lang in LANGS:
        if wanted == lang:
            return lang
    close = closest(wanted, LANGS, n=1)
    hint = f" ; vouliez-vous dire {close[0]} ?" if close else ""
    raise typer.BadParameter(
        f"{value!r} n'est pas une langue connue : fr ou en{hint}"
        f" / {value!r} is not a known language: fr or en",
        param_hint=source,
    )


def _store_lang(value: str | None) -> str | None:
    if value is not None:
        STATE.lang = _lang_of(value, "--lang")
    return value


def _store_debug(value: bool) -> bool:
    if value:
        STATE.debug = True
    return value


LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Langue des messages / language of messages: fr (défaut) ou en.",
        callback=_store_lang,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug", help="En cas d'erreur interne, afficher la trace / show the traceback.",
        callback=_store_debug,
    ),
]


def language(explicit: str | None = None) -> Lang:
    """The language of text output: the command's ``--lang``, the global one, NGAP_LANG, fr."""
    if explicit is not None:
        return _lang_of(explicit, "--lang")
    if STATE.lang is not None:
        return STATE.lang
    env = os.environ.get(LANG_ENV, "").strip()
    return _lang_of(env, LANG_ENV) if env else "fr"


def say(fr: str, en: str, lang: Lang | None = None) -> str:
    """The French or the English text, in the active language."""
    return fr if (lang or language()) == "fr" else en


def fail(fr: str, en: str | None = None, code: int = ExitCode.BAD_INPUT) -> typer.Exit:
    """Print one error line (French or English) and return the Exit to raise."""
    try:
        lang = language()
    except typer.BadParameter:  # a wrong NGAP_LANG must not hide the error being reported
        lang = "fr"
    if lang == "fr" or en is None:
        err.print(f"[bold red]erreur :[/] {escape(fr)}")
    else:
        err.print(f"[bold red]error:[/] {escape(en)}")
    return typer.Exit(code)


@functools.cache
def _common_params() -> tuple[Any, ...]:
    """``--lang`` and ``--debug`` as parameters to graft on commands that lack them."""
    probe = typer.Typer(add_completion=False)

    @probe.command()
    def _probe(lang: LangOpt = None, debug: DebugOpt = False) -> None:  # pragma: no cover
        """Only its parameters are used."""

    params = typer.main.get_command(probe).params
    for param in params:
        param.expose_value = False  # the value lives in STATE, not in the command's arguments
    return tuple(params)


def _graft(command: Any) -> None:
    """Give a command (and the commands of a sub-group) ``--lang`` and ``--debug``."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for param in _common_params():
        if not taken.intersection(param.opts):
            command.params.append(param)
    for sub in getattr(command, "commands", {}).values():
        _graft(sub)


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Click's usage-error base class, wherever this version of typer keeps it."""
    names = ("ClickException", "TyperException")
    return tuple(c for c in typer.BadParameter.__mro__ if c.__name__ in names)


def _debugging(argv: Sequence[str]) -> bool:
    return STATE.debug or "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _fault(kind_fr: str, kind_en: str, error: BaseException, argv: Sequence[str]) -> int:
    """Exit 3: one line, and the traceback only when asked for."""
    detail = " ".join(str(error).split()) or type(error).__name__
    if _debugging(argv):
        traceback.print_exception(error, file=sys.stderr)
        hint_fr = hint_en = ""
    else:
        hint_fr, hint_en = " (--debug pour la trace)", " (--debug for the traceback)"
    fail(
        f"{kind_fr} : {type(error).__name__}: {detail}{hint_fr}",
        f"{kind_en}: {type(error).__name__}: {detail}{hint_en}",
        ExitCode.FAULT,
    )
    return ExitCode.FAULT


def run_contract(call: Callable[[], Any], argv: Sequence[str]) -> int:
    """Run a command and map what happened to the exit-status contract."""
    from ngap.clock import ClockError
    from ngap.io import InputError
    from ngap.model.eras import DateOutOfRange

    try:
        call()
        return ExitCode.OK
    except typer.Exit as done:
        return int(done.exit_code)
    except _usage_errors() as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()  # type: ignore[attr-defined]
            return ExitCode.BAD_INPUT
        message = " ".join(error.format_message().split())  # type: ignore[attr-defined]
        ctx = getattr(error, "ctx", None)
        where = f"{ctx.command_path} --help" if ctx is not None else "ngap --help"
        fail(f"{message} (aide : {where})", f"{message} (help: {where})")
        return ExitCode.BAD_INPUT
    except InputError as error:
        fail(error.fr, error.en)
        return ExitCode.BAD_INPUT
    except DateOutOfRange as error:
        fail(str(error))
        return ExitCode.BAD_INPUT
    except (KeyboardInterrupt, typer.Abort):
        fail("interrompu", "interrupted", ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``ngap codes | head``): nothing left to say.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the final flush then goes nowhere, quietly
        return ExitCode.FAULT
    except ClockError as error:
        return _fault("erreur d'environnement", "environment fault", error, argv)
    except (OSError, MemoryError) as error:
        return _fault("erreur d'environnement", "environment fault", error, argv)
    except Exception as error:
        return _fault("erreur interne", "internal error", error, argv)


class NgapGroup(TyperGroup):
    """The ``ngap`` command group: common options on every command, the exit-status contract."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            _graft(command)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        STATE.lang, STATE.debug = None, False

        def call() -> None:
            with self.make_context(prog_name or "ngap", argv, **extra) as ctx:
                self.invoke(ctx)

        code = run_contract(call, argv)
        with contextlib.suppress(BrokenPipeError, ValueError):
            sys.stdout.flush()
        if standalone_mode:
            sys.exit(code)
        return code
