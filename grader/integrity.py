"""Kernel-side guard of the state check cells run in (imported inside the lesson's kernel).

Learner code runs in the same IPython shell as the checks, so a few lines can make
every later check pass: an AST transformer that drops ``assert``, an input
transformer that blanks cells, a patched ``run_cell``, a replaced ``%%check`` magic,
``ODIBI_GRADING`` switched off. The grader records :func:`baseline` right after the
kernel starts and calls :func:`restore` before every check cell; it reads the
findings back and marks the lesson tampered. Both are evaluated as IPython
*user expressions* (plain ``eval``), which no input or AST transformer and no
patched ``run_cell`` sees.

This stops the known tricks and makes the rest visible through the grader's
canary check; it cannot stop code that edits this module itself (see the README's
threat model).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["WATCHED_EVENTS", "WATCHED_METHODS", "baseline", "restore"]

WATCHED_EVENTS = ("pre_execute", "pre_run_cell", "post_run_cell")
WATCHED_METHODS = ("run_cell", "run_cell_async", "_run_cell", "transform_cell", "transform_ast",
                   "run_ast_nodes", "run_code", "should_run_async", "user_expressions")
_MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
_GUARDED_ENV = ("ODIBI_GRADING",)
_MISSING = object()
_state: dict[str, Any] = {}


def _shell() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("grader.integrity runs inside an IPython kernel only")
    return shell


def _guarded_modules() -> list[Any]:
    from . import check, magics

    return [check, magics]


def baseline() -> str:
    """Record the shell's transformers, run hooks, run methods, the grader's magics and check
    helpers as they are now (right after the kernel started)."""
    shell = _shell()
    manager = shell.input_transformer_manager
    _state.clear()
    _state.update(
        shell_class=type(shell),
        manager=manager,
        manager_lists={name: list(getattr(manager, name)) for name in _MANAGER_LISTS},
        post=list(shell.input_transformers_post),
        ast=list(shell.ast_transformers),
        events=shell.events,
        callbacks={name: list(shell.events.callbacks.get(name, [])) for name in WATCHED_EVENTS},
        instance={name: vars(shell).get(name, _MISSING) for name in WATCHED_METHODS},
        classes={(cls, name): cls.__dict__.get(name, _MISSING)
                 for cls in type(shell).__mro__ for name in WATCHED_METHODS},
        modules={module.__name__: (module, {k: v for k, v in vars(module).items() if callable(v)})
                 for module in _guarded_modules()},
        env={name: os.environ.get(name) for name in _GUARDED_ENV},
    )
    return "ok"


def _restore_list(found: list[str], what: str, current: list[Any], saved: list[Any]) -> list[Any]:
    if list(current) != saved:
        added = [_name(x) for x in current if x not in saved]
        found.append(f"{what} changed (now {len(current)}, at start {len(saved)}"
                     f"{'; added ' + ', '.join(added) if added else ''})")
    return list(saved)


def _name(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return str(name)[:80]


def _restore_methods(shell: Any, found: list[str]) -> None:
    for name, saved in _state["instance"].items():
        now = vars(shell).get(name, _MISSING)
        if now is not saved:
            found.append(f"shell.{name} was replaced on the shell instance")
            if saved is _MISSING:
                vars(shell).pop(name, None)
            else:
                setattr(shell, name, saved)
    for (cls, name), saved in _state["classes"].items():
        now = cls.__dict__.get(name, _MISSING)
        if now is not saved:
            found.append(f"{cls.__name__}.{name} was replaced")
            if saved is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, saved)


def _restore_magics(shell: Any, found: list[str]) -> None:
    from . import magics

    cell_magics = shell.magics_manager.magics.get("cell", {})
    for name, function in magics.REGISTERED.items():
        if name in cell_magics and cell_magics[name] is not function:
            found.append(f"the %%{name} cell magic was replaced")
            cell_magics[name] = function


def restore() -> list[str]:
    """Put back everything :func:`baseline` recorded; one line per thing that had changed."""
    if not _state:
        return ["no integrity baseline was recorded in this kernel"]
    shell = _shell()
    found: list[str] = []
    if type(shell) is not _state["shell_class"]:
        found.append(f"the shell's class was replaced by {_name(type(shell))}")
        shell.__class__ = _state["shell_class"]
    if shell.input_transformer_manager is not _state["manager"]:
        found.append("shell.input_transformer_manager was replaced")
        shell.input_transformer_manager = _state["manager"]
    manager = shell.input_transformer_manager
    for name, saved in _state["manager_lists"].items():
        setattr(manager, name, _restore_list(found, f"input transformers ({name})",
                                             getattr(manager, name), saved))
    shell.input_transformers_post = _restore_list(found, "input transformers (post)",
                                                  shell.input_transformers_post, _state["post"])
    shell.ast_transformers = _restore_list(found, "AST transformers", shell.ast_transformers,
                                           _state["ast"])
    if shell.events is not _state["events"]:
        found.append("shell.events was replaced")
        shell.events = _state["events"]
    for name, saved in _state["callbacks"].items():
        callbacks = shell.events.callbacks.setdefault(name, [])
        callbacks[:] = _restore_list(found, f"{name} event callbacks", callbacks, saved)
    _restore_methods(shell, found)
    _restore_magics(shell, found)
    for module, functions in _state["modules"].values():
        for name, saved in functions.items():
            if getattr(module, name, _MISSING) is not saved:
                found.append(f"{module.__name__}.{name} was replaced")
                setattr(module, name, saved)
    for name, saved in _state["env"].items():
        if os.environ.get(name) != saved:
            found.append(f"environment variable {name} was changed")
            if saved is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = saved
    return found
