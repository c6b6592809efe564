"""``returns serve`` as a person meets it: signing in and out, where each role lands, the
limits on failed sign-ins, the security headers, and the settings it refuses to start with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .serving import PASSWORD, Served, make_collection, returns, start, text_of
from .test_ledger_support import collect


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("service") / "collection"
    tokens = make_collection(folder)
    server = start(folder, tokens=tokens)
    yield server
    server.stop()


def test_anonymous_people_are_sent_to_sign_in(served: Served) -> None:
    answer = served.client().get("/council/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login/?next=/council/")


@pytest.mark.parametrize(
    ("name", "lands"),
    [("sub.a", "/council/"), ("app.a", "/council/"), ("reviewer", "/national/"),
     ("admin", "/national/")],
)  # fmt: skip
def test_each_role_lands_on_its_own_start_page(served: Served, name: str, lands: str) -> None:
    client = served.client(name)
    assert client.get("/").headers["Location"] == lands
    assert client.get(lands).status_code == 200


def test_a_wrong_password_is_refused_and_signing_out_ends_the_session(served: Served) -> None:
    client = served.client()
    answer = client.post("/login/", {"username": "sub.b", "password": "not the password"})
    assert answer.status_code == 200
    assert "do not match" in text_of(answer)
    client.sign_in("sub.b")
    assert client.get("/council/").status_code == 200
    assert client.get("/logout/").status_code == 405  # a link cannot sign anyone out
    assert client.post("/logout/").status_code == 302
    assert client.get("/council/").status_code == 302


def test_failed_sign_ins_are_limited_per_name(served: Served) -> None:
    client = served.client()
    for _ in range(5):
        assert client.post("/login/", {"username": "app.b", "password": "wrong"}).status_code == 200
    refused = client.post("/login/", {"username": "app.b", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in text_of(refused)


def test_a_form_posted_without_the_csrf_token_is_refused(served: Served) -> None:
    import requests

    answer = requests.post(
        served.url + "/login/", data={"username": "sub.a", "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 403


def test_pages_carry_the_security_headers(served: Served) -> None:
    answer = served.client("sub.a").get("/council/")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
    cookie = served.client().get("/login/").headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert "<script>" not in answer.text


def test_the_server_refuses_unsafe_settings(tmp_path: Path) -> None:
    folder = tmp_path / "collection"
    done = returns("collect", "init", folder, "--name", "x", "--periods", "2013-14")
    assert done.returncode == 0, done.stderr
    no_key = returns("serve", folder, "--host", "0.0.0.0", env={"RETURNS_SECRET_KEY": ""})
    assert no_key.returncode == 2
    assert "RETURNS_SECRET_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
    debug = returns(
        "serve", folder, "--host", "0.0.0.0",
        env={"RETURNS_SECRET_KEY": "k" * 40, "RETURNS_DEBUG": "1"},
    )  # fmt: skip
    assert debug.returncode == 2 and "RETURNS_DEBUG" in debug.stderr
    not_a_collection = returns("serve", tmp_path / "nothing")
    assert not_a_collection.returncode == 2 and "not a collection" in not_a_collection.stderr


def test_people_are_added_and_given_tokens_from_the_command_line(tmp_path: Path) -> None:
    # In this process (the commands' own parsing, output and exit codes; the entry point's
    # process is tested with `serve` above): a process per command cost 1-2 s each.
    folder = tmp_path / "collection"
    assert collect("init", folder, "--name", "x", "--periods", "2013-14").exit_code == 0
    added = collect(
        "user", "add", folder, "--name", "j.smith", "--role", "submitter",
        "--council", "E06000001", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.stdout.strip() == "j.smith added as submitter for Hartlepool (E06000001)."
    weak = collect(
        "user", "add", folder, "--name", "k.jones", "--role", "reviewer",
        "--password-stdin", stdin="short\n",
    )  # fmt: skip
    assert weak.exit_code == 2 and "too short" in weak.stderr
    national_with_council = collect(
        "user", "add", folder, "--name", "k.jones", "--role", "reviewer",
        "--council", "E06000001", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert national_with_council.exit_code == 2 and "national" in national_with_council.stderr
    token = collect("user", "token", folder, "--name", "j.smith")
    assert token.exit_code == 0 and token.stdout.startswith("rk_")
    listed = collect("user", "list", folder)
    assert listed.stdout.split() == ["j.smith", "submitter", "E06000001"]


def test_behind_a_trusted_proxy_the_service_is_public_even_on_loopback(tmp_path: Path) -> None:
    import requests

    folder = tmp_path / "collection"
    assert returns("collect", "init", folder, "--name", "x", "--periods", "2013-14").returncode == 0
    no_key = returns("serve", folder, env={"RETURNS_TRUSTED_PROXY": "127.0.0.1"})
    assert no_key.returncode == 2 and "behind the proxy 127.0.0.1" in no_key.stderr
    server = start(
        folder, env={"RETURNS_TRUSTED_PROXY": "127.0.0.1", "RETURNS_SECRET_KEY": "s" * 40}
    )
    try:
        # the proxy terminated TLS and says so: believed, so the cookies are HTTPS-only
        answer = requests.get(
            server.url + "/login/", headers={"X-Forwarded-Proto": "https"}, timeout=30
        )
        assert answer.status_code == 200
        assert "Secure" in answer.headers["Set-Cookie"]
    finally:
        server.stop()


def test_the_deadlines_are_moved_from_the_command_line(tmp_path: Path) -> None:
    # in this process, as above
    folder = tmp_path / "collection"
    assert collect("init", folder, "--name", "x", "--periods", "2013-14").exit_code == 0
    moved = collect(
        "deadlines", folder, "--soft-deadline", "2014-06-30", "--close", "2014-07-31",
        "--by", "National team", "--reason", "As published.",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.stderr
    assert moved.stdout.strip() == (
        "Deadlines now: soft deadline 2014-06-30, hard close 2014-07-31."
    )
    settings = (folder / "collection.toml").read_text(encoding="utf-8")
    assert "soft_deadline = 2014-06-30" in settings and "close = 2014-07-31" in settings
    backwards = collect(
        "deadlines", folder, "--soft-deadline", "2014-07-31", "--close", "2014-06-30",
        "--by", "National team", "--reason", "x",
    )  # fmt: skip
    assert backwards.exit_code == 2 and "before the soft deadline" in backwards.stderr
    assert (folder / "collection.toml").read_text(encoding="utf-8") == settings
    log = collect("log", folder, "--verify")
    assert log.exit_code == 0, log.stderr
