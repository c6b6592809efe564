"""Reading a zip member safely, a chunk at a time: the read size, the watch on each part's
start for a DTD, the expat stream that never expands one, and byte strings looked for
across chunk seams. Every scan of the container reads through these.

The read sizes are read as ``stream.CHUNK`` and ``stream.HEAD_BYTES`` where they are used,
so that a test can shrink every read at once and see seams everywhere."""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO
from xml.parsers import expat

from returns_kit.workbook.refusal import MIB, Refusal, refuse

#: How much of a member is inflated and scanned at a time.
CHUNK = MIB
# A real prolog is an XML declaration and perhaps a comment: well under 1 KB.
_PROLOG_LIMIT = MIB

#: A first look at each part reads this much at a time: its prolog is normally all of it.
_PROLOG_READ = 16 * 1024

# Enough of a member's start to hold its prolog and root start tag.
HEAD_BYTES = 64 * 1024

# expat holds one tag, attribute or comment whole: one larger than this is not something a
# spreadsheet program writes.
_MAX_TOKEN = 16 * MIB

# Markup allowed before the root element once any DTD is ruled out. Possessive, so a long
# run of whitespace or comments costs one linear pass and never backtracks.
PROLOG_ITEMS = re.compile(rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*+", re.DOTALL)

# The same, also stepping over stray text and any "<" that starts neither an element nor
# a declaration: parsers differ in what they forgive, so the search for a DTD in an XML
# part goes on until the root element itself.
_PROLOG_ANYTHING = re.compile(
    rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->|[^<]+|<(?![A-Za-z_:\x80-\xff!?]))*+", re.DOTALL
)


#: From this many bytes on, a search for byte strings goes to polars (Rust's memchr::memmem,
#: SIMD, some 20 GB/s): CPython 3.11's own search for a string of two bytes or more ran at
#: about 1 GB/s over sheet XML, near the cost of inflating it. Each polars call costs a
#: fraction of a millisecond, so reads are searched in batches of many megabytes.
_FAST_SEARCH_BYTES = 256 * 1024


def contains_any(haystacks: Sequence[bytes], needles: Iterable[bytes]) -> bool:
    """Whether any of ``needles`` occurs in any of ``haystacks`` (none across two of them)."""
    needles = tuple(needles)
    if sum(map(len, haystacks)) < _FAST_SEARCH_BYTES:
        return any(needle in haystack for haystack in haystacks for needle in needles)
    import polars as pl

    series = pl.Series(haystacks, dtype=pl.Binary)
    return any(series.bin.contains(needle).any() for needle in needles)


class Hints:
    """Whether any of a few short byte strings occurs in a stream fed chunk by chunk."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        self.needles = tuple(needles)
        self.keep = max(len(needle) for needle in self.needles) - 1
        self.tail = b""
        self.hit = False

    def feed(self, chunk: bytes) -> bool:
        if self.hit:
            return True
        # A needle split across two chunks shows up in the seam: the end of the last
        # chunk joined to the start of this one.
        seam = self.tail + chunk[: self.keep]
        self.hit = any(needle in chunk or needle in seam for needle in self.needles)
        if len(chunk) >= self.keep:
            self.tail = chunk[len(chunk) - self.keep :]
        else:
            joined = self.tail + chunk
            self.tail = joined[max(0, len(joined) - self.keep) :]
        return self.hit

    def finish(self) -> bool:
        """Whether any needle occurred, once the stream has been fed to its end."""
        return self.hit


class Prolog:
    """Watches the start of one zip member for a DTD before its root element.

    In a part named .xml or .rels (``strict``) the watch lasts until the root element,
    whatever comes before it. Any other member (an image, say) counts as XML only if it
    starts like XML, so binary data is never mistaken for an endless prolog.
    """

    def __init__(self, *, strict: bool) -> None:
        self.items = _PROLOG_ANYTHING if strict else PROLOG_ITEMS
        self.buffer = bytearray()
        self.decoder: codecs.IncrementalDecoder | None = None
        self.started = False
        self.done = False
        self.utf16 = False
        #: False once the member is known not to be XML (an image, say)
        self.xml = True
        self.scan_at = 0

    def feed(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            self._detect_encoding(chunk[:2])
        if self.decoder is not None:
            chunk = self.decoder.decode(chunk).encode("utf-8")
        self.buffer += chunk[: _PROLOG_LIMIT + 16 - len(self.buffer)]
        # Each scan starts over, so scan only once the buffer has doubled: short reads
        # then cost O(n log n), not O(n^2). A 1 MiB read is normally scanned just once.
        if len(self.buffer) >= self.scan_at or len(self.buffer) > _PROLOG_LIMIT:
            self.scan_at = 2 * len(self.buffer)
            self._scan(final=False)

    def finish(self) -> None:
        if not self.done:
            self._scan(final=True)

    def _detect_encoding(self, head: bytes) -> None:
        # Spreadsheet programs write UTF-8, but XML may be UTF-16, in which a DTD would
        # not show up in a byte search: read such a prolog as text instead.
        if head in (b"\xff\xfe", b"\xfe\xff"):
            codec = "utf-16"
        elif len(head) == 2 and head[1] == 0 and head[0] != 0:
            codec = "utf-16-le"
        elif len(head) == 2 and head[0] == 0 and head[1] != 0:
            codec = "utf-16-be"
        else:
            return
        self.utf16 = True
        self.decoder = codecs.getincrementaldecoder(codec)(errors="replace")

    def _scan(self, *, final: bool) -> None:
        buf = bytes(self.buffer)
        start = len(codecs.BOM_UTF8) if buf.startswith(codecs.BOM_UTF8) else 0
        match = self.items.match(buf, start)
        end = match.end() if match else start
        rest = buf[end : end + 4]
        if not rest or rest in (b"<", b"<!", b"<!-") or rest.startswith((b"<?", b"<!--")):
            # The prolog goes on past what has been read: an unfinished comment or
            # processing instruction, or just the end of the data so far.
            if len(self.buffer) > _PROLOG_LIMIT:
                refuse("F001", variant="long_prolog")
            if final:
                self.done = True
            return
        self.done = True
        if rest.startswith(b"<!"):
            refuse("F001", variant="dtd")
        if rest[0] != ord("<") or not _is_name_start(rest[1:2]):
            self.xml = False
        self.buffer = bytearray()


def check_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    prolog = Prolog(strict=info.filename.lower().endswith((".xml", ".rels")))
    try:
        with archive.open(info) as member:
            while not prolog.done and (chunk := member.read(_PROLOG_READ)):
                prolog.feed(chunk)
            prolog.finish()
    except Refusal:
        raise
    except Exception:
        refuse("F001", variant="corrupt")


def _is_name_start(char: bytes) -> bool:
    return bool(char) and (char.isalpha() or char in b"_:" or char[0] >= 0x80)


def parse_member(
    archive: zipfile.ZipFile,
    name: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    """Stream one member through expat; the prolog check has already refused any DTD."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    # A second line of defence: expat would otherwise expand entities a DTD declares.
    def refuse_dtd(*_: object) -> None:
        refuse("F001", variant="dtd")

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    # Handlers on every kind of event keep CurrentByteIndex moving, see below.
    parser.EndElementHandler = end or _ignore
    parser.CharacterDataHandler = text or _ignore
    fed = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                parser.Parse(chunk, False)
                fed += len(chunk)
                # expat holds a whole tag, attribute or comment in memory until it ends;
                # no event for this long means one token larger than any spreadsheet
                # program writes, growing memory for as long as it goes on.
                if fed - max(parser.CurrentByteIndex, 0) > _MAX_TOKEN:
                    refuse("F001", variant="corrupt")
        parser.Parse(b"", True)
    except Refusal:
        raise
    except Exception:
        refuse("F001", variant="corrupt")


def _ignore(*_: object) -> None:
    pass


def read_head(member: IO[bytes]) -> bytes:
    """The first read of a member, made long enough to hold its root start tag."""
    parts = [member.read(CHUNK)]
    size = len(parts[0])
    while size < HEAD_BYTES and (more := member.read(CHUNK)):
        parts.append(more)
        size += len(more)
    return b"".join(parts)


def member_contains(
    archive: zipfile.ZipFile, name: str, needle: bytes, *, fold_case: bool = False
) -> bool:
    hints = Hints((needle,))
    with archive.open(name) as member:
        while chunk := member.read(CHUNK):
            if hints.feed(chunk.lower() if fold_case else chunk):
                return True
    return False
