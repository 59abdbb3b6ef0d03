"""Browser fixtures: Debian's headless Chromium driven by Playwright, against the
Casenote demo served by a real server process on 127.0.0.1.

Without /usr/bin/chromium (or ``PRIVACY_TEST_CHROMIUM``) or the ``playwright``
package the browser tests are skipped; with ``PRIVACY_TEST_REQUIRE_BROWSER=1``
(``.ci/run`` sets it) they fail instead, so CI cannot pass without them.

Playwright's own browser download is never used: ``executable_path`` points at
the system Chromium.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PRIVACY_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("PRIVACY_TEST_REQUIRE_BROWSER", "") not in ("", "0")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_APP = "examples/casenote_demo"
OFFICER_EMAIL = "contact@casenote.kr"
SECRET_KEY = "browser-test-secret-key-not-for-production"


def unavailable(reason: str) -> NoReturn:
    """Skip (or, where CI requires the browser suite, fail) with ``reason``."""
    if REQUIRE_BROWSER:
        pytest.fail(f"PRIVACY_TEST_REQUIRE_BROWSER is set but the browser suite cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's), launched once per module."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no browser at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        except PlaywrightError as exc:
            unavailable(f"{CHROMIUM} does not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoServer:
    """The demo app in ``flask run`` on 127.0.0.1, on SQLite files in ``workdir``.

    ``flask(...)`` runs a CLI command of the demo in the same environment
    (same databases); ``stop()`` ends the server with SIGINT so its access-log
    writer drains at exit, and ``start()`` serves the same databases again.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.demo_db = workdir / "demo.sqlite"
        self.main_db = workdir / "privacy.sqlite"
        self.archive_db = workdir / "privacy-archive.sqlite"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DEMO_", "PRIVACY_"))}
        env.update(
            DEMO_DATABASE_URI=f"sqlite:///{self.demo_db}",
            PRIVACY_DATABASE_URI=f"sqlite:///{self.main_db}",
            PRIVACY_ARCHIVE_DATABASE_URI=f"sqlite:///{self.archive_db}",
            PRIVACY_SPOOL_DIR=str(workdir / "spool"),
            DEMO_OFFICER_EMAIL=OFFICER_EMAIL,
            SECRET_KEY=SECRET_KEY,
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    def flask(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", DEMO_APP, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = 30) -> None:
        assert self.process is None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    DEMO_APP,
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_default_sigint,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/privacy/policy.json", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the demo server did not answer within {timeout} s:\n{self.log.read_text()}")

    def stop(self, timeout: float = 15) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # KeyboardInterrupt: atexit handlers flush the writer
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def _default_sigint() -> None:
    """In the server's process, before it starts: SIGINT neither ignored nor blocked,
    whatever the test runner's process left (both are inherited across exec), so that
    ``stop()`` raises KeyboardInterrupt there and its writer drains at exit. In the full
    suite the server used to outlast ``stop()``'s 15 s and be killed; alone it stops
    in under a second."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture(scope="module")
def demo(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo with sample members (the officer among them), served on 127.0.0.1."""
    server = DemoServer(tmp_path_factory.mktemp("casenote-demo"))
    made = server.flask("demo-data")
    assert made.returncode == 0, made.stdout + made.stderr
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) with a 1280x900 window, in Korean."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR", accept_downloads=True)
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()
