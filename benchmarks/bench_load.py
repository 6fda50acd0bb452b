"""Load: ten browser sessions use Explore and Evaluate at once while a run trains.

Starts the real dashboard (the browser tests' server helper), trains one small run to have
something to evaluate, launches a full-data run (mlp-relu, 2 epochs), then drives 10
Chromium contexts through the same steps in lock-step: every session triggers a step, then
all are awaited, so the server handles ten reruns at once. Each step's latency is measured
inside its page (click to the end of the rerun), so waiting on one session in turn does not
inflate another's.

Prints a latency table (median and worst per step), the server's memory before and after,
and whether any session saw an exception. Asserts nothing.

    .venv/bin/python -m benchmarks.bench_load [--sessions 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from mnist_lab.data import load_mnist  # noqa: E402
from mnist_lab.engines.keras_net.settings import KerasSettings  # noqa: E402
from mnist_lab.execution.local import LocalExecutor  # noqa: E402
from mnist_lab.runs import RunStore  # noqa: E402
from tests.browser.driver import (  # noqa: E402
    VIEWPORT,
    choose,
    exceptions,
    go_to,
    launch_chromium,
    open_app,
    wait_for_run,
)
from tests.browser.server import kill_workers, start_server, stop_server  # noqa: E402

# Records, in page time, when the app last went from running back to idle.
WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        if (app.dataset.testScriptState === 'notRunning') window.__idleAt = performance.now();
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB."""
    try:
        import psutil
    except ImportError:
        return sum(_vm_rss_kib(p) for p in [pid, *_descendants(pid)])
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) // 1024


def _vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _descendants(pid: int) -> list[int]:
    """Descendants of ``pid`` found through ``/proc/*/stat`` parent ids."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


# (step name, action that triggers one rerun in a session without waiting for it)
STEPS = [
    ("Explore: open", lambda page, n: go_to(page, "Explore data", wait=False)),
    ("Explore: pixel tab", lambda page, n: page.get_by_role("tab", name="Pixel values").click()),
    ("Explore: digit", lambda page, n: choose(page, "Digit", f"Digit {n % 10}", wait=False)),
    ("Explore: log scale", lambda page, n: page.get_by_text("Log scale", exact=True).click()),
    ("Evaluate: open", lambda page, n: go_to(page, "Evaluate", wait=False)),
    (
        "Evaluate: shares",
        lambda page, n: page.get_by_text("Show shares of each true digit").click(),
    ),
]


def run_step(pages: list[Page], action) -> list[float]:
    """Trigger ``action`` in every session, then wait for all; latencies in seconds."""
    for number, page in enumerate(pages):
        page.evaluate("() => { window.__clickedAt = performance.now(); window.__idleAt = 0; }")
        action(page, number)
    latencies = []
    for page in pages:
        wait_for_run(page)
        # No idle transition seen means the rerun ended unobserved: count until now instead.
        latencies.append(
            page.evaluate(
                "() => ((window.__idleAt > window.__clickedAt ? window.__idleAt"
                " : performance.now()) - window.__clickedAt) / 1000"
            )
        )
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    dataset = load_mnist()
    dataset_mib = sum(a.nbytes for a in (dataset.x_train, dataset.y_train, dataset.x_test)) / 2**20

    with tempfile.TemporaryDirectory(prefix="bench-load-") as temp:
        runs_dir = Path(temp) / "runs"
        store = RunStore(runs_dir)
        server = start_server(runs_dir, Path(temp) / "server.log")
        try:
            memory = {"server started": rss_kib(server.process.pid)}
            small = store.create(KerasSettings(subset=2000, epochs=1).to_dict(), name="to evaluate")
            LocalExecutor(store).launch(small)
            while small.status()["state"] not in ("finished", "failed"):
                time.sleep(1)
            big = store.create(KerasSettings(preset="mlp-relu", epochs=2).to_dict(), name="loaded")
            LocalExecutor(store).launch(big)

            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                pages = [
                    browser.new_context(viewport=VIEWPORT).new_page()
                    for _ in range(args.sessions + 1)
                ]
                # One session first, so the dataset cache is filled before the crowd arrives.
                warm, crowd = pages[0], pages[1:]
                open_app(warm, server.url)
                warm.evaluate(WATCH_RUNS)
                for _, action in STEPS:
                    run_step([warm], action)
                memory["after 1 session"] = rss_kib(server.process.pid)

                for page in crowd:
                    open_app(page, server.url)
                    page.evaluate(WATCH_RUNS)
                table = [(name, run_step(crowd, action)) for name, action in STEPS]
                memory[f"after {1 + len(crowd)} sessions"] = rss_kib(server.process.pid)
                errors = {n: exceptions(p) for n, p in enumerate(crowd) if exceptions(p)}
                browser.close()
            big_name, big_state = big.name, big.status()
        finally:
            stop_server(server)
            kill_workers(runs_dir)

    print(f"\n{len(crowd)} sessions at once, while {big_name!r} trained (now {big_state['state']})")
    print(f"{'step':<24}{'median s':>10}{'worst s':>10}")
    for name, latencies in table:
        print(f"{name:<24}{statistics.median(latencies):>10.2f}{max(latencies):>10.2f}")
    print(f"\n{'server memory (RSS, with children)':<40}{'MiB':>8}")
    for label, kib in memory.items():
        print(f"{label:<40}{kib / 1024:>8.0f}")
    values = list(memory.values())
    per_session = (values[2] - values[1]) / 1024 / len(crowd)
    print(
        f"growth per extra session: {per_session:.1f} MiB (the MNIST arrays are "
        f"{dataset_mib:.0f} MiB: {'held once' if per_session < dataset_mib / 4 else 'COPIED'} "
        "by st.cache_resource)"
    )
    print("exceptions seen: " + (f"yes, in sessions {sorted(errors)}" if errors else "none"))


if __name__ == "__main__":
    main()
