"""A real ``returns serve`` for the service tests: a collection with one person per role,
started as its own process on a free loopback port, and a client that signs in, keeps its
session cookie and sends the CSRF token as a browser does.

Council A is Hartlepool (E06000001), council B Middlesbrough (E06000002): the national
example has both. Every password is PASSWORD; every person also has an API token.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests

from .cheap_hashing import make_hashing_cheap
from .conftest import ROOT

PASSWORD = "correct-horse-battery-staple"
COUNCIL_A, COUNCIL_B = "E06000001", "E06000002"
#: name -> (role, council)
PEOPLE: dict[str, tuple[str, str | None]] = {
    "sub.a": ("submitter", COUNCIL_A),
    "app.a": ("approver", COUNCIL_A),
    "sub.b": ("submitter", COUNCIL_B),
    "app.b": ("approver", COUNCIL_B),
    "reviewer": ("reviewer", None),
    "admin": ("admin", None),
}
#: how long a server may take to start: bounded, so a broken server fails the test
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def returns(
    *args: Any, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "returns_kit", *map(str, args)],
        capture_output=True, text=True, env=environment, timeout=timeout, input=stdin,
    )  # fmt: skip


@dataclass
class Served:
    """A running ``returns serve`` and what the tests need to talk to it."""

    url: str
    folder: Path
    process: subprocess.Popen[str]
    log: Path
    database_url: str | None
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, name: str | None = None) -> Client:
        """A browser-like client, signed in as ``name`` (anonymous when None)."""
        client = Client(self.url)
        if name is not None:
            client.sign_in(name)
        return client

    def api(self, name: str | None) -> requests.Session:
        """An API session with ``name``'s bearer token (none when None)."""
        session = requests.Session()
        if name is not None:
            session.headers["Authorization"] = f"Bearer {self.tokens[name]}"
        return session

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        return self.log.read_text(encoding="utf-8", errors="replace")


def make_collection(
    folder: Path, database_url: str | None = None, periods: str = "2012-13,2013-14"
) -> dict[str, str]:
    """A collection with PEOPLE in it; returns each person's API token. Made in this process
    through the library (the CLI's `collect user` commands have their own test): a process
    per person would cost seconds each."""
    from returns_kit.ledger import people, service
    from returns_kit.ledger.config import CollectionConfig, parse_periods

    make_hashing_cheap()  # as the servers started below do (tests/cheap_hashing.py)

    config = CollectionConfig(name="Service test", periods=parse_periods(periods),
                              soft_deadline=date(2099, 6, 30))  # fmt: skip
    ledger = service.init(folder, config, database_url)
    tokens = {}
    for name, (role, council) in PEOPLE.items():
        people.add_person(ledger, name, role, council, PASSWORD)
        tokens[name] = people.new_token(ledger, name)
    return tokens


def start(
    folder: Path,
    database_url: str | None = None,
    tokens: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Served:
    """``returns serve folder`` on a free port, once it answers."""
    port = port or free_port()
    log = folder.parent / f"serve-{port}.log"
    # returns serve, with the tests' cheap password hashing (tests/cheap_hashing.py says why)
    args = [sys.executable, "-m", "tests.cheap_hashing", "serve", str(folder), "--port", str(port)]
    if database_url:
        args += ["--database-url", database_url]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   env=environment)  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", folder, process, log, database_url, tokens or {})
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"returns serve exited {process.returncode}: {served.stop()}")
        try:
            if requests.get(served.url + "/login/", timeout=5).status_code == 200:
                return served
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"returns serve did not answer in {START_SECONDS} s: {served.stop()}")


class Client:
    """A browser-like session: cookies kept, the CSRF token sent with every POST (as the
    forms' hidden field does), redirects not followed so tests see each status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, allow_redirects=False, timeout=60, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        token = self.session.cookies.get("csrftoken")
        if token is None:  # a form page sets it, as a browser gets it before posting
            self.get("/login/")
            token = self.session.cookies.get("csrftoken")
        return self.session.post(
            self.url + path,
            data={**(data or {}), "csrfmiddlewaretoken": token},
            headers={"Referer": self.url + path},
            allow_redirects=False,
            timeout=120,
            **kwargs,
        )

    def sign_in(self, name: str, password: str = PASSWORD) -> requests.Response:
        answer = self.post("/login/", {"username": name, "password": password})
        assert answer.status_code == 302, f"sign-in as {name} failed: {answer.status_code}"
        return answer


def text_of(response: requests.Response) -> str:
    """The page's text without tags, for asserting what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))
