"""The console in a real browser: Debian's Chromium driven by Playwright, against a real refgen
server (uvicorn in a thread, SQLite, local files, the compositor in a worker thread).

No browser is downloaded: Playwright is pointed at ``/usr/bin/chromium``
(``scripts/install-test-services.sh`` installs it). Without it these tests are skipped, or fail
when ``REFGEN_TEST_REQUIRE_SERVICES=1`` (``make test``).

Every page a test opens records its requests, console errors and failed responses; the
:class:`Console` helper saves screenshots to ``test-artifacts/console/<viewport>/<step>.png``.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from refgen.backends.compositor import CompositorBackend
from refgen.domain import TaskKind
from refgen.generation import CancelToken, GenerationJob, ImageOutput, ProgressFn, VideoOutput
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.resources import open_engine, open_files, open_store
from refgen.runtime import Runtime, build_runtime
from refgen.settings import Settings
from refgen.testing.backends import every_route
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.services import REQUIRED, free_port, unavailable

try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    if REQUIRED:
        raise
    # without the dev extra the test modules cannot even be imported: skip them quietly
    collect_ignore_glob = ["test_*.py"]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
SECONDS_PER_FRAME = 0.03  # paces the compositor so a 4 s video takes a few seconds: progress is visible


class PacedBackend:
    """The compositor, slowed to a steady pace per video frame (images are not slowed)."""

    name = "compositor"

    def __init__(self, inner: CompositorBackend, seconds_per_frame: float) -> None:
        self.inner = inner
        self.seconds_per_frame = seconds_per_frame

    def load(self) -> None:
        self.inner.load()

    def supports(self, kind: TaskKind) -> bool:
        return self.inner.supports(kind)

    def close(self) -> None:
        self.inner.close()

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        output = self.inner.generate(job, progress, cancel)
        if isinstance(output, VideoOutput):
            frames = output.frames

            def paced() -> Iterator[Any]:
                for frame in frames:
                    time.sleep(self.seconds_per_frame)
                    yield frame

            output.frames = paced()
        return output


@dataclass
class ConsoleServer:
    base_url: str
    token: str
    runtime: Runtime

    def new_token(self, name: str, **limits: int) -> str:
        _, token = create_key(self.runtime.store.keys, self.runtime.cipher, name, **limits)  # type: ignore[arg-type]
        return token


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = tmp_path_factory.mktemp("console-server")
    port = free_port()
    settings = Settings(data_dir=root / "data", port=port)
    engine = open_engine(settings)
    store = open_store(settings, engine=engine)
    files = open_files(settings)
    backend = PacedBackend(CompositorBackend(), SECONDS_PER_FRAME)
    timing = WorkerTiming(lease_seconds=10, heartbeat_seconds=0.1, poll_seconds=0.05)
    models = ("viduq2", "viduq1", "vidu2.0", "vidu1.5")
    workers = ThreadWorkers([Worker(store.queue, files, every_route(backend, models), timing=timing)])
    runtime = build_runtime(settings, store=store, files=files, workers=workers)
    _, token = create_key(store.keys, runtime.cipher, "console")
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield ConsoleServer(f"http://127.0.0.1:{port}", token, runtime)
    server.should_exit = True
    thread.join(20)
    engine.dispose()


@pytest.fixture(scope="module")  # not session: Playwright's loop must be gone before other tests run
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (scripts/install-test-services.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Console:
    """One browser page on the console, with what it did recorded."""

    page: Page
    base_url: str
    viewport: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_responses: list[tuple[int, str, str]] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path)

    def shot(self, step: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / self.viewport / f"{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if full_page:  # from the top, so sticky bars sit where they belong
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        self.screenshots.append(path)
        return path

    def external_requests(self) -> list[str]:
        local = (f"{self.base_url}/", "data:", "blob:")
        return [url for url in self.requests if not url.startswith(local)]

    def unexpected_failures(self, allowed: set[tuple[int, str]]) -> list[tuple[int, str, str]]:
        """Responses of 400 or more other than ``allowed`` (status, path) pairs."""
        return [(s, m, p) for (s, m, p) in self.failed_responses if (s, p) not in allowed]


@contextmanager
def open_console(browser: Browser, base_url: str, viewport: str) -> Iterator[Console]:
    context = browser.new_context(**VIEWPORTS[viewport], accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    console = Console(page, base_url, viewport)

    def on_request(request: Request) -> None:
        console.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        # A 4xx the console asked for (a refused key or task) is logged by Chromium as a failed
        # resource; those are checked separately, against the responses the test expects.
        if message.type == "error" and "Failed to load resource" not in message.text:
            console.errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            path = response.url.removeprefix(base_url).split("?")[0]
            console.failed_responses.append((response.status, response.request.method, path))

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: console.errors.append(f"page error: {error}"))
    page.on("response", on_response)
    try:
        yield console
    finally:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)


@pytest.fixture
def desktop(browser: Any, console_server: ConsoleServer) -> Iterator[Console]:
    """A console in a desktop window, signed in with a fresh key; no external requests, no errors."""
    from playwright.sync_api import expect

    token = console_server.new_token(f"walker-{uuid.uuid4().hex[:12]}")
    with open_console(browser, console_server.base_url, "desktop") as console:
        console.open()
        console.page.fill("#api-key", token)
        console.page.click("#signin-button")
        expect(console.page.locator("#workspace")).to_be_visible()
        yield console
        assert console.external_requests() == []
        assert console.errors == []
