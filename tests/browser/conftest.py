"""Browser test fixtures: a throw-away JupyterLab server and a headless Chromium page.

The server runs on a copy of the notebooks in a temporary root, with its settings,
workspaces, runtime files and IPython history in temporary folders too, so a test
never writes into the repository or the user's home. Network features of JupyterLab
(news, update checks, the PyPI extension manager) are switched off.

Availability: the tests need Debian's ``/usr/bin/chromium`` and the ``playwright``
Python package (its own browser download is not used). When either is missing the
tests are skipped, unless ``ODIBI_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENV_REQUIRE = "ODIBI_REQUIRE_BROWSER"
STARTUP_TIMEOUT = 60.0
SHUTDOWN_GRACE = 10.0

# User settings written into the server's private settings folder: never ask about,
# fetch or announce news and updates (the server side is switched off by flags too).
_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# -- availability ----------------------------------------------------------------------


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (install it with: sudo apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (install it with: pip install playwright)")
    if not missing:
        return None
    return "browser tests need " + " and ".join(missing)


def _required() -> bool:
    return os.environ.get(ENV_REQUIRE) == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``browser`` tests where Chromium or Playwright is missing (unless required)."""
    if item.get_closest_marker("browser") is None or _required():
        return
    reason = browser_unavailable_reason()
    if reason is not None:
        pytest.skip(f"{reason}; set {ENV_REQUIRE}=1 to make this a failure")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> None:
    """With ODIBI_REQUIRE_BROWSER=1 a ``browser`` test that cannot run FAILS (not errors)."""
    if pyfuncitem.get_closest_marker("browser") is None or not _required():
        return
    reason = browser_unavailable_reason()
    if reason is not None:
        pytest.fail(f"{ENV_REQUIRE}=1 but {reason}", pytrace=False)


@pytest.fixture(scope="session")
def browser_available() -> bool:
    """Whether Chromium and Playwright are here; skips when not, unless they are required.

    When required (ODIBI_REQUIRE_BROWSER=1) and missing, the fixtures start nothing and
    :func:`pytest_pyfunc_call` fails the test, so CI reports a failure, not a skip.
    """
    reason = browser_unavailable_reason()
    if reason is None:
        return True
    if _required():
        return False
    pytest.skip(f"{reason}; set {ENV_REQUIRE}=1 to make this a failure")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _test_failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


# -- JupyterLab server -------------------------------------------------------------------


@dataclass
class JupyterLab:
    """A running JupyterLab server on a temporary root folder."""

    base_url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def tree_url(self, relpath: str) -> str:
        """The URL opening ``relpath`` (relative to the root) in JupyterLab."""
        return f"{self.base_url}/lab/tree/{quote(relpath)}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
        """Call the server's REST API and return the decoded JSON body (or None)."""
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log, for failure messages."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_user_settings(settings_dir: Path) -> None:
    for relpath, values in _USER_SETTINGS.items():
        path = settings_dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")


def start_jupyter_lab(notebooks: Path | None, workspace: Path, env: Mapping[str, str], *,
                      grader_lab: Path | None = None) -> JupyterLab:
    """Copy ``notebooks`` to ``workspace/root/<name>`` and start JupyterLab on ``workspace/root``;
    or, with ``grader_lab`` (a course checkout), start it the learner's way:
    ``python -m grader lab --workspace workspace/root`` writes the learner copies there first.

    Args:
        notebooks: folder to serve; copied, so autosave and checkpoints land in the copy.
        workspace: empty temporary folder for the root and the server's private state.
        env: extra environment for the server and, through it, its kernels.
        grader_lab: serve the learner workspace made by ``grader lab`` for this course.
    """
    root = workspace / "root"
    if grader_lab is None:
        assert notebooks is not None
        shutil.copytree(
            notebooks,
            root / notebooks.name,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    else:
        root.mkdir(parents=True)
    state = {
        name: workspace / name
        for name in ("settings", "workspaces", "runtime", "config", "data", "ipython")
    }
    for path in state.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_user_settings(state["settings"])

    port = _free_port()
    token = secrets.token_hex(24)
    full_env = {
        **os.environ,
        # Private Jupyter/IPython state: nothing from (or into) the user's home.
        "JUPYTER_CONFIG_DIR": str(state["config"]),
        "JUPYTER_DATA_DIR": str(state["data"]),
        "JUPYTER_RUNTIME_DIR": str(state["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(state["ipython"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    launcher = ([sys.executable, "-m", "jupyter", "lab"] if grader_lab is None else
                [sys.executable, "-m", "grader", "--root", str(grader_lab), "lab", "--workspace",
                 str(root), "--"])
    command = [
        *launcher,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        # ServerApp.token still works but is deprecated in jupyter_server 2.
        f"--IdentityProvider.token={token}",
        *([f"--ServerApp.root_dir={root}"] if grader_lab is None else []),  # grader lab sets it
        "--ServerApp.open_browser=False",
        # Nothing reaches the network: no news feed, no update check, no PyPI listing.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.user_settings_dir={state['settings']}",
        f"--LabApp.workspaces_dir={state['workspaces']}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI runners often run as root
    log = workspace / "jupyter-lab.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        _wait_until_ready(lab)
    except BaseException:
        stop_jupyter_lab(lab)
        raise
    return lab


def _wait_until_ready(lab: JupyterLab) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {lab.process.returncode} before answering;"
                f" its log:\n{lab.log_tail()}"
            )
        try:
            with urllib.request.urlopen(
                f"{lab.base_url}/api/status?token={lab.token}", timeout=2
            ) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise RuntimeError(
        f"JupyterLab did not answer /api/status within {STARTUP_TIMEOUT:.0f}s"
        f" ({last_error}); its log:\n{lab.log_tail()}"
    )


def stop_jupyter_lab(lab: JupyterLab, grace: float = SHUTDOWN_GRACE) -> None:
    """Stop the server and every process it started (kernels run in their own sessions).

    Asks politely (``POST /api/shutdown`` shuts kernels down), then SIGTERM to the
    server's process group, then SIGKILL to the group and any descendant left over.
    """
    import psutil  # in the dev extra

    process = lab.process
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if process.poll() is None:
        with contextlib.suppress(urllib.error.URLError, OSError):
            lab.api("/api/shutdown", method="POST", timeout=grace / 2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace / 2)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace / 2)
    # The group may still hold helpers whose leader exited; kernels have their own groups.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    _gone, alive = psutil.wait_procs(descendants, timeout=grace / 2)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=grace / 2)
    if process.poll() is None:
        process.wait(timeout=grace)


LabStarter = Callable[..., JupyterLab]


@pytest.fixture
def jupyter_lab(
    browser_available: bool,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[LabStarter]:
    """A function ``start(notebooks_folder, env) -> JupyterLab``; servers stop at teardown.

    The notebooks folder is served as ``<root>/<folder name>``; ``env`` reaches the
    kernels (the tests set ``ODIBI_COURSE_ROOT`` and ``ODIBI_COURSE_HOME``).
    """
    labs: list[JupyterLab] = []

    def start(notebooks: Path | None, env: Mapping[str, str], *,
              grader_lab: Path | None = None) -> JupyterLab:
        if not browser_available:
            pytest.fail(browser_unavailable_reason() or "no browser", pytrace=False)
        lab = start_jupyter_lab(notebooks, tmp_path_factory.mktemp("jupyterlab"), env,
                                grader_lab=grader_lab)
        labs.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in labs:
            if _test_failed(request):
                sys.stderr.write(f"--- JupyterLab log ({lab.log}) ---\n{lab.log_tail()}\n")
            stop_jupyter_lab(lab)


# -- browser -----------------------------------------------------------------------------


@pytest.fixture
def browser_page(
    browser_available: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium; a screenshot is saved if the test fails.

    Yields None only when the browser is required but missing (the test then fails).
    """
    if not browser_available:
        yield None
        return
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=60_000,
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
            if _test_failed(request):
                shot = tmp_path / "failure.png"
                try:
                    page.screenshot(path=str(shot), full_page=True, timeout=10_000)
                    sys.stderr.write(f"screenshot of the failed test: {shot}\n")
                except PlaywrightError as exc:  # diagnostics must not mask the failure
                    sys.stderr.write(f"could not take a screenshot: {exc}\n")
        finally:
            browser.close()
