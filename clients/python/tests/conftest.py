"""A real mmcd per test, on free loopback ports, from the Swift build of this repository.

The binaries are found through MMCD_BIN (and MMC_BIN for ``mmc keygen``), by default in the
directory ``swift build --show-bin-path`` names at the repository root (the debug build).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import closing
from typing import Callable, Dict, Iterator, List, Optional

import pytest

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _executable(path: str, name: str, variable: str) -> str:
    if not os.access(path, os.X_OK):
        pytest.fail(f"{name} not found at {path}: run `swift build` at the repository root or set {variable}")
    return path


@pytest.fixture(scope="session")
def mmcd_bin() -> str:
    path = os.environ.get("MMCD_BIN")
    if path is None:
        directory = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPOSITORY, check=True,
                                   capture_output=True, text=True).stdout.strip()
        path = os.path.join(directory, "mmcd")
    return _executable(path, "mmcd", "MMCD_BIN")


@pytest.fixture(scope="session")
def mmc_bin(mmcd_bin: str) -> str:
    return _executable(os.environ.get("MMC_BIN", os.path.join(os.path.dirname(mmcd_bin), "mmc")), "mmc", "MMC_BIN")


def free_ports(count: int) -> List[int]:
    """Ports free on 127.0.0.1 a moment ago, all held until every one is known."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def eventually(condition: Callable[[], bool], timeout: float = 60.0, interval: float = 0.05) -> bool:
    """Polls ``condition`` until it holds, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


class Daemon:
    """One mmcd process with its endpoints; stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, binary: str, directory: str, settings: Dict[str, Dict[str, object]]):
        input_port, output_port, control_port, http_port = free_ports(4)
        self.input = f"tcp://127.0.0.1:{input_port}"
        self.output = f"tcp://127.0.0.1:{output_port}"
        self.control = f"tcp://127.0.0.1:{control_port}"
        self.http = f"http://127.0.0.1:{http_port}"
        sections: Dict[str, Dict[str, object]] = {
            "input": {"bind": [self.input], "socket": "pull", "dimension": 2},
            "window": {"size": 5000},
            "schedule": {"interval_seconds": 0.3, "every_points": 0},
            "output": {"endpoint": self.output, "assignments": "diff", "full_every": 3},
            "control": {"endpoint": self.control},
            "state": {"directory": ""},
            "http": {"port": http_port, "live_page": False},
        }
        for section, values in settings.items():
            sections.setdefault(section, {}).update(values)
        self.config = os.path.join(directory, "mmcd.toml")
        with open(self.config, "w", encoding="utf-8") as file:
            for section, values in sections.items():
                file.write(f"[{section}]\n")
                for key, value in values.items():
                    file.write(f"{key} = {_toml(value)}\n")
        self.log = os.path.join(directory, "mmcd.log")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([binary, "--config", self.config], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        if not eventually(self.healthy_or_dead, timeout=60) or self.process.poll() is not None:
            raise RuntimeError(f"mmcd did not start:\n{self.output_text()}")

    def metrics(self) -> str:
        with closing(urllib.request.urlopen(f"{self.http}/metrics", timeout=5)) as response:
            return response.read().decode("utf-8")

    def metric(self, line_prefix: str) -> float:
        """The value of the first metrics line starting with ``line_prefix`` (0 if none)."""
        for line in self.metrics().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def healthy_or_dead(self) -> bool:
        if self.process.poll() is not None:
            return True
        try:
            self.metrics()
            return True
        except OSError:
            return False

    def output_text(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as file:
            return file.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def start_daemon(mmcd_bin: str, tmp_path) -> Iterator[Callable[..., Daemon]]:
    """Starts a daemon with ``settings`` (section -> key -> value) over the tests' defaults."""
    daemons: List[Daemon] = []

    def start(settings: Optional[Dict[str, Dict[str, object]]] = None) -> Daemon:
        directory = tmp_path / f"mmcd-{len(daemons)}"
        directory.mkdir()
        daemon = Daemon(mmcd_bin, str(directory), settings or {})
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()
