"""Django's password hashing made cheap for the people the tests make, in the test process and
in the `returns serve` processes the tests start (``python -m tests.cheap_hashing serve ...``).

Every person a test makes has a password and every sign-in checks one: PBKDF2 at Django's
1,000,000 iterations costs about 0.4 s of CPU each time, the largest single cost of the
service tests. Django's advice for test suites is a cheaper hasher; we keep its PBKDF2 (the
same code, the same stored format) at fewer iterations. The product's settings are untouched,
and the tests that start `returns serve` themselves (the WSGI entry, the safe-settings
refusals) still run it with Django's count.
"""

from __future__ import annotations

#: Enough to keep every hash a real PBKDF2 hash; 1,000 times cheaper than Django's count.
TEST_ITERATIONS = 1_000


def make_hashing_cheap() -> None:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    PBKDF2PasswordHasher.iterations = TEST_ITERATIONS


if __name__ == "__main__":
    make_hashing_cheap()
    from returns_kit.cli import run

    run()
