"""Classroom: thirty sessions use Explore, Evaluate and Train at once while a run trains.

Starts the real dashboard with a teacher key (the browser tests' server helper), trains one
small run to have something to evaluate, and has the teacher open Home once, as a teacher
checks the dashboard before a class: the server's warm-up (once per server) is measured
apart, not in the class's steps. Then it launches a full-data MLP and measures its
throughput alone. Then 30 simulated students connect: websocket clients that speak
Streamlit's own protocol (``/_stcore/stream``, protobuf ``BackMsg`` out, ``ForwardMsg`` in),
as the browser does, without a browser's CPU. Each gives its name in the URL. They go
through the same steps in lock-step: every session sends its rerun, then all are awaited,
so the server serves thirty reruns at once, the worst case. With ``--spread-s S`` each
student starts each step at a random moment within S seconds instead, as a class following
the teacher's "now open Evaluate" does. A step's latency runs from sending the rerun to
its ``script_finished``. On the Train page the clients follow the live panel's
``auto_rerun`` requests, as a browser does, for a while: every student watches the run a
classmate trains, which redraws every five seconds (one's own, every second).

Prints a latency table (median and worst per step), the exceptions the pages sent, the
server's memory before and after, and the training run's throughput alone and under the
class. Asserts nothing.

    .venv/bin/python -m benchmarks.bench_classroom [--sessions 30] [--watch-s 20] [--spread-s 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.bench_load import rss_kib
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.runs import Run, RunStore
from tests.browser.server import kill_workers, start_server, stop_server

FINISHED = ForwardMsg.ScriptFinishedStatus
FULL_RUN_ENDS = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_WITH_COMPILE_ERROR)
# A rerun that takes longer than this counts as failed: the benchmark stays bounded.
STEP_TIMEOUT_S = 120.0
# How long the training run's throughput is sampled alone, once it runs steadily.
SOLO_SAMPLE_S = 20.0


@dataclass(frozen=True)
class Step:
    """One thing every student does: open a page, or set one widget (by its key)."""

    name: str
    page: str | None = None
    widget: tuple[str, str, object] | None = None  # (key, WidgetState field, value)


STEPS = (
    Step("Explore: open", page="Explore data"),
    Step("Explore: pixel tab", widget=("explore_section", "string_value", "Pixel values")),
    Step("Evaluate: open", page="Evaluate"),
    Step("Evaluate: shares toggle", widget=("evaluate_normalized", "bool_value", True)),
    Step("Train: open", page="Train"),
)


@dataclass
class Session:
    """One simulated browser tab: a websocket to the server and what the pages sent it."""

    url: str
    query_string: str
    pages: dict[str, str] = field(default_factory=dict)  # title -> page script hash
    widget_ids: dict[str, str] = field(default_factory=dict)  # user key -> widget id
    exceptions: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    fragment_latencies: list[float] = field(default_factory=list)

    async def connect(self) -> None:
        """Open the websocket as the browser does (subprotocol ``streamlit``)."""
        self.socket = await websockets.connect(
            f"{self.url.replace('http', 'ws', 1)}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            # The browser sends no pings either: a busy server must not read as dead.
            ping_interval=None,
        )
        self.finished: asyncio.Queue = asyncio.Queue()
        self.fragment_sent_at: dict[str, float] = {}
        self.auto_reruns: dict[str, asyncio.Task] = {}
        self.page_hash = ""
        self.in_flight = False
        self.receiver = asyncio.create_task(self.receive())

    async def receive(self) -> None:
        """Read every ForwardMsg: remember pages, widgets, exceptions, reruns and their ends."""
        async for data in self.socket:
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in message.navigation.app_pages}
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "delta":
                self.read_delta(message.delta)
            elif kind == "session_event" and message.session_event.HasField(
                "script_compilation_exception"
            ):
                self.exceptions.append(message.session_event.script_compilation_exception.message)
            elif kind == "auto_rerun":
                self.follow_auto_rerun(message.auto_rerun.fragment_id, message.auto_rerun.interval)
            elif kind == "stop_auto_rerun":
                self.stop_auto_reruns()
            elif kind == "script_finished":
                self.in_flight = message.script_finished == FINISHED.FINISHED_EARLY_FOR_RERUN
                self.finished.put_nowait((message.script_finished, time.perf_counter()))

    def read_delta(self, delta) -> None:
        """Note an exception, and the id of every keyed widget or tab container."""
        if delta.WhichOneof("type") == "add_block" and delta.add_block.id:
            self.note_widget(delta.add_block.id)
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind and getattr(getattr(element, kind), "id", None):
            self.note_widget(getattr(element, kind).id)

    def note_widget(self, widget_id: str) -> None:
        # Streamlit's ids end with the widget's user key: "$$ID-<hash>-<key>".
        self.widget_ids[widget_id.rsplit("-", 1)[-1]] = widget_id

    def follow_auto_rerun(self, fragment_id: str, interval: float) -> None:
        """Rerun the live fragment every ``interval`` seconds, as the browser's timer does."""
        if fragment_id not in self.auto_reruns:
            self.auto_reruns[fragment_id] = asyncio.create_task(
                self.rerun_fragment(fragment_id, interval)
            )

    async def rerun_fragment(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.in_flight:
                # As the browser: no timed rerun while the last one is still running.
                continue
            await self.send_rerun(fragment_id=fragment_id)
            self.fragment_sent_at[fragment_id] = time.perf_counter()

    def stop_auto_reruns(self) -> None:
        for task in self.auto_reruns.values():
            task.cancel()
        self.auto_reruns.clear()

    async def send_rerun(self, widget_states: list | None = None, fragment_id: str = "") -> None:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        for widget_id, kind, value in widget_states or []:
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            setattr(widget, kind, value)
        self.in_flight = True
        await self.socket.send(message.SerializeToString())

    async def start_step(self, step: Step) -> float:
        """Send the step's rerun; return when it was sent."""
        self.stop_auto_reruns()
        widgets = []
        if step.page is not None:
            self.page_hash, self.query_string = self.pages[step.page], self.query_string
        if step.widget is not None:
            key, kind, value = step.widget
            widgets = [(self.widget_ids[key], kind, value)]
        sent = time.perf_counter()
        await self.send_rerun(widgets)
        return sent

    async def wait_for_full_run(self, sent: float) -> float:
        """Seconds from ``sent`` to the end of the next full script run (fragments skipped)."""
        deadline = sent + STEP_TIMEOUT_S
        while True:
            finished, at = await asyncio.wait_for(
                self.finished.get(), timeout=max(0.1, deadline - time.perf_counter())
            )
            if finished in FULL_RUN_ENDS:
                return at - sent
            if finished == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY and self.fragment_sent_at:
                self.fragment_latencies.append(at - max(self.fragment_sent_at.values()))

    async def close(self) -> None:
        self.stop_auto_reruns()
        self.receiver.cancel()
        await self.socket.close()


async def run_step(sessions: list[Session], step: Step, offsets: list[float]) -> list[float]:
    """Start ``step`` in every session, each after its offset, then wait for all; latencies.

    A session that fails (lost connection, no rerun within `STEP_TIMEOUT_S`) counts as
    `STEP_TIMEOUT_S` and keeps the reason among its failures.
    """

    async def one(session: Session, offset: float) -> float:
        await asyncio.sleep(offset)
        try:
            return await session.wait_for_full_run(await session.start_step(step))
        except Exception as error:
            session.failures.append(f"{step.name}: {type(error).__name__} {error}")
            return STEP_TIMEOUT_S

    latencies = await asyncio.gather(*(one(s, o) for s, o in zip(sessions, offsets, strict=True)))
    print(f"{step.name}: median {statistics.median(latencies):.2f} s", file=sys.stderr)
    return latencies


async def watch_live_panels(sessions: list[Session], seconds: float) -> list[float]:
    """Let every session follow its live panel's timed reruns; their latencies."""
    end = time.perf_counter() + seconds
    latencies: list[float] = []
    while time.perf_counter() < end:
        for session in sessions:
            while not session.finished.empty():
                finished, at = session.finished.get_nowait()
                if finished == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    sent = max(session.fragment_sent_at.values(), default=at)
                    latencies.append(at - sent)
        await asyncio.sleep(0.05)
    return latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far, from ``/proc/<pid>/stat``."""
    text = Path(f"/proc/{pid}/stat").read_text()
    user, system = text[text.rindex(")") + 2 :].split()[11:13]
    return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")


async def classroom(
    url: str, server_pid: int, n_sessions: int, watch_s: float, spread_s: float = 0.0
) -> tuple[list, list[Session]]:
    """Connect ``n_sessions`` students, open the app, and run every step with all of them.

    With ``spread_s`` each student starts each step at a random moment within that many
    seconds (seeded), as a class does when the teacher says "now open Evaluate"; with 0
    all start at once.

    Returns
    -------
    tuple
        The table, rows of (step, latencies, the server's CPU seconds per rerun), and the
        sessions.
    """
    sessions = [Session(url, f"student=student-{n:02d}") for n in range(n_sessions)]
    for session in sessions:
        await session.connect()
    table = []
    # Everyone lands on Home first, as a class does when the teacher shares the address.
    for step in (Step("Home: open"), *STEPS):
        before = cpu_seconds(server_pid)
        offsets = [random.uniform(0, spread_s) for _ in sessions]
        latencies = await run_step(sessions, step, offsets)
        table.append((step.name, latencies, (cpu_seconds(server_pid) - before) / n_sessions))
    if watch_s > 0:
        before = cpu_seconds(server_pid)
        latencies = await watch_live_panels(sessions, watch_s)
        cpu = (cpu_seconds(server_pid) - before) / max(1, len(latencies))
        table.append(("Train: live panel redraws", latencies, cpu))
    for session in sessions:
        await session.close()
    return table, sessions


async def teacher_visit(url: str, server_pid: int, timeout_s: float = 300) -> float:
    """The teacher opens Home once before the class; the server's CPU seconds until it idles.

    The first visit starts the server's warm-up (`dashboard.ui.app.warm_up`: statistics, the
    framework's import, the newest model): computed once per server, not for each rerun, so
    it is measured here and kept out of the class's steps.
    """
    before = cpu_seconds(server_pid)
    teacher = Session(url, "")
    await teacher.connect()
    await teacher.wait_for_full_run(await teacher.start_step(Step("Home: open")))
    await teacher.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = cpu_seconds(server_pid)
        await asyncio.sleep(2)
        if cpu_seconds(server_pid) - busy < 0.1:
            break
    return cpu_seconds(server_pid) - before


def throughput(run: Run, seconds: float) -> list[float]:
    """``samples_per_s`` from the run's status, sampled every half second for ``seconds``."""
    samples, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        value = run.status().get("samples_per_s")
        if value:
            samples.append(value)
        time.sleep(0.5)
    return samples


def wait_until(run: Run, predicate, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate(run.status()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run.id} stayed {run.status()['state']}")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--watch-s", type=float, default=20.0, help="seconds on the live panel")
    parser.add_argument(
        "--spread-s",
        type=float,
        default=0.0,
        help="each student starts each step within this many seconds (0: all at once)",
    )
    args = parser.parse_args()
    random.seed(0)

    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as temp:
        runs_dir = Path(temp) / "runs"
        store = RunStore(runs_dir)
        server = start_server(
            runs_dir, Path(temp) / "server.log", extra_env={TEACHER_KEY_ENV: "bench-teacher"}
        )
        try:
            memory = {"server started": rss_kib(server.process.pid)}
            small = store.create(
                KerasSettings(subset=2000, epochs=1).to_dict(), name="to evaluate", owner="teacher"
            )
            LocalExecutor(store).launch(small)
            wait_until(small, lambda status: status["state"] not in ("queued", "running"))
            warm_up_cpu = asyncio.run(teacher_visit(server.url, server.process.pid))
            # Long enough to outlast the class; stopped when the measurements are done.
            big = store.create(
                KerasSettings(preset="mlp-relu", epochs=100).to_dict(), name="loaded", owner="ada"
            )
            LocalExecutor(store).launch(big)
            wait_until(big, lambda status: status.get("samples_per_s"))
            time.sleep(3)
            solo = throughput(big, SOLO_SAMPLE_S)

            started, load_before = time.perf_counter(), os.getloadavg()[0]
            loop = asyncio.new_event_loop()
            task = loop.create_task(
                classroom(
                    server.url, server.process.pid, args.sessions, args.watch_s, args.spread_s
                )
            )
            loaded: list[float] = []
            while not task.done():
                loop.run_until_complete(asyncio.sleep(0.5))
                if value := big.status().get("samples_per_s"):
                    loaded.append(value)
            table, sessions = task.result()
            loop.close()
            class_s = time.perf_counter() - started
            memory[f"after {args.sessions} sessions"] = rss_kib(server.process.pid)
            big.request_stop()
            big_state = big.status()["state"]
        finally:
            stop_server(server)
            kill_workers(runs_dir)

    when = f"within {args.spread_s:g} s of each other" if args.spread_s else "at once"
    print(f"\n{args.sessions} websocket sessions, each step {when}, while a full-data MLP trained")
    print(f"(load average before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f})")
    print(f"(the class took {class_s:.0f} s; the run was {big_state})")
    print(f"(the teacher's first visit before the class: {warm_up_cpu:.1f} s of server CPU)")
    print(f"{'step':<30}{'median s':>10}{'worst s':>10}{'reruns':>8}{'CPU s/rerun':>13}")
    for name, latencies, cpu in table:
        if latencies:
            median, worst = statistics.median(latencies), max(latencies)
            print(f"{name:<30}{median:>10.2f}{worst:>10.2f}{len(latencies):>8}{cpu:>13.3f}")
    for what in ("exceptions", "failures"):
        seen = [(n, text) for n, session in enumerate(sessions) for text in getattr(session, what)]
        print(f"\n{what} seen: {len(seen)}")
        for number, text in seen[:5]:
            print(f"  session {number}: {text[:200]}")
    print(f"\n{'server memory (RSS, with children)':<40}{'MiB':>8}")
    for label, kib in memory.items():
        print(f"{label:<40}{kib / 1024:>8.0f}")
    alone, crowded = statistics.median(solo), statistics.median(loaded or [float("nan")])
    print(
        f"\ntraining throughput: {alone:,.0f} samples/s alone, {crowded:,.0f} with the class "
        f"({alone / crowded:.2f}x slower)"
    )


if __name__ == "__main__":
    main()
