"""Who runs a job: owner tokens, and whether an owner can still finish its jobs.

An executor's owner token is ``host:pid:token``. When a new executor opens a store, a queued or
running job is orphaned when its owner is on this host and either its process is gone, or it is
this process but no live executor here holds the token. Jobs owned by other hosts are left alone
(their liveness cannot be checked from here). A reused pid makes a dead owner look alive, which
only delays the cleanup; a live job is never marked failed.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid

__all__ = ["new_owner", "owner_is_gone", "release_owner"]

_live_lock = threading.Lock()
_live_tokens: set[str] = set()


def _host() -> str:
    return socket.gethostname().replace(":", "_")


def new_owner() -> str:
    """A fresh owner token for an executor of this process, registered as live."""
    owner = f"{_host()}:{os.getpid()}:{uuid.uuid4().hex}"
    with _live_lock:
        _live_tokens.add(owner)
    return owner


def release_owner(owner: str) -> None:
    """Mark ``owner`` as no longer able to run jobs (its executor stopped or was collected)."""
    with _live_lock:
        _live_tokens.discard(owner)


def owner_is_gone(owner: str) -> bool:
    """True when ``owner`` can certainly never finish its jobs (see the module docstring)."""
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        with _live_lock:
            return owner not in _live_tokens
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
