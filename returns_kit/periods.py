"""Financial-year periods ("2013-14"): parsing, ordering and snapshot dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A financial year, April to March, named by its first calendar year."""

    start_year: int

    @classmethod
    def parse(cls, text: str) -> Period | None:
        """The period named by ``text``, or None when it is not ``YYYY-YY`` of consecutive years.

        >>> Period.parse("2013-14").snapshot
        datetime.date(2014, 3, 31)
        >>> Period.parse("2013-15") is None
        True
        """
        match = _PERIOD.match(text.strip())
        if not match:
            return None
        start = int(match.group(1))
        if (start + 1) % 100 != int(match.group(2)):
            return None
        return cls(start)

    @classmethod
    def of(cls, text: str) -> Period:
        """The period named by ``text``, known to be one (a period the tables already hold):
        a ValueError, not None, when it is not.

        >>> str(Period.of("2013-14").previous())
        '2012-13'
        """
        period = cls.parse(text)
        if period is None:
            raise ValueError(f"not a period: {text!r}")
        return period

    @property
    def snapshot(self) -> date:
        """31 March of the second year: the date the counts describe."""
        return date(self.start_year + 1, 3, 31)

    def previous(self) -> Period:
        return Period(self.start_year - 1)

    def next(self) -> Period:
        return Period(self.start_year + 1)

    def __str__(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"
