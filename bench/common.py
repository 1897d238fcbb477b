"""Helpers shared by the benchmarks in bench/: run a command as a child process and measure its
wall time, CPU time and peak memory; print results as a plain table.

Peak memory is measured two ways and both are kept:
- `os.wait4` gives the child's own rusage, whose `ru_maxrss` is the exact high-water mark of the
  child process (and of any of its own children it waited for). Linux carries the RSS the
  forked copy of the parent had before `exec` into that figure, so it is only trusted when it
  is above the parent's RSS at spawn time; keep the parent small (the benchmarks do not load
  DuckDB in the measuring process);
- a thread polls the child's process tree with psutil every `poll` seconds and keeps the
  highest sum of RSS over the tree (catches helpers running side by side; may miss a short
  spike between two polls).
`watch` can add one more process to poll on the side, e.g. the PostgreSQL backend that serves
the child's connection, whose memory is the server's, not the child's.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

MB = 1024 * 1024


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float  # ru_maxrss of the child (wait4)
    parent_rss_mb: float  # RSS of the measuring process when it spawned the child
    tree_peak_mb: float  # highest polled sum of RSS over the child's process tree
    side_peak_mb: float | None  # highest polled RSS of the `watch` process, if any
    side_cpu_s: float | None  # its CPU time (user + system) at the last poll before it ended
    stdout: str
    stderr: str
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def maxrss_trusted(self) -> bool:
        return self.maxrss_mb > self.parent_rss_mb + 1

    @property
    def peak_mb(self) -> float:
        if self.maxrss_trusted:
            return max(self.maxrss_mb, self.tree_peak_mb)
        return self.tree_peak_mb

    def as_dict(self) -> dict:
        data = asdict(self)
        data["cpu_s"] = round(self.cpu_s, 3)
        data["peak_mb"] = round(self.peak_mb, 1)
        data["maxrss_trusted"] = self.maxrss_trusted
        data["stdout"] = self.stdout[-2000:]
        data["stderr"] = self.stderr[-4000:]
        return data


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_measured(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    poll: float = 0.05,
    watch: Callable[[], int | None] | None = None,
    log_dir: Path | None = None,
) -> Measured:
    """Run `argv` to completion and measure it. Output goes to files (no pipe back-pressure)."""
    log_dir = Path(log_dir or ".")
    log_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    out_path = log_dir / f"child-{tag}.out"
    err_path = log_dir / f"child-{tag}.err"
    peaks: dict[str, float | None] = {"tree": 0, "side": None, "side_cpu": None}
    done = threading.Event()

    with out_path.open("wb") as out, err_path.open("wb") as err:
        parent_rss = psutil.Process().memory_info().rss
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd)

        def poller() -> None:
            try:
                proc = psutil.Process(child.pid)
            except psutil.Error:
                return
            side_pid: int | None = None
            side_proc: psutil.Process | None = None
            while not done.is_set():
                peaks["tree"] = max(peaks["tree"], _tree_rss(proc))
                if watch is not None:
                    if side_proc is None:
                        side_pid = watch()
                        if side_pid:
                            try:
                                side_proc = psutil.Process(side_pid)
                            except psutil.Error:
                                side_proc = None
                    if side_proc is not None:
                        try:
                            with side_proc.oneshot():
                                rss = side_proc.memory_info().rss
                                times = side_proc.cpu_times()
                            peaks["side"] = max(peaks["side"] or 0, rss)
                            peaks["side_cpu"] = times.user + times.system
                        except psutil.Error:
                            pass
                done.wait(poll)

        thread = threading.Thread(target=poller, daemon=True)
        thread.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        thread.join()

    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    return Measured(
        argv=list(argv),
        returncode=child.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        maxrss_mb=usage.ru_maxrss * 1024 / MB,  # Linux reports kilobytes
        parent_rss_mb=parent_rss / MB,
        tree_peak_mb=peaks["tree"] / MB,
        side_peak_mb=None if peaks["side"] is None else peaks["side"] / MB,
        side_cpu_s=peaks["side_cpu"],
        stdout=stdout,
        stderr=stderr,
    )


def machine() -> dict:
    """What the figures were measured on."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus_logical": psutil.cpu_count(logical=True),
        "cpus_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        # Other work on the machine skews the figures; keep the load next to them.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_is_number(row[i]) for row in rows if row[i] not in (None, ""))
        for i in range(len(headers))
    ]
    lines = []
    for index, row in enumerate(cells):
        parts = [
            c.rjust(widths[i]) if numeric[i] and index else c.ljust(widths[i])
            for i, c in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def reusable_csv(path: Path, rows: int, generator: int) -> dict | None:
    """The meta of a CSV generated earlier for the same row count by the same generator
    version, or None when it has to be made again."""
    meta_path = path.with_suffix(".json")
    if not (path.exists() and meta_path.exists()):
        return None
    meta = json.loads(meta_path.read_text())
    if (
        meta.get("rows") == rows
        and meta.get("generator") == generator
        and meta.get("bytes") == path.stat().st_size
    ):
        meta["reused"] = True
        return meta
    return None
