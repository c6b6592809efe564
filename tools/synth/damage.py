"""Damage workbooks at random, for fuzzing the reader: bytes flipped in the zip, or tags and
values broken inside its XML parts."""

from __future__ import annotations

import io
import random
import zipfile

_INSERTS = (b"<", b">", b'"', b"&", b'<c r="A1"><v>x</v></c>', b"9" * 30, b"\x00", b"<f>1</f>")


def damage(workbook: bytes, rng: random.Random) -> bytes:
    """A damaged copy of ``workbook``: most often inside one XML part (which reaches the
    parsers), otherwise a few raw bytes of the zip."""
    if rng.random() < 0.6:
        try:
            return _damage_part(workbook, rng)
        except zipfile.BadZipFile:
            pass
    data = bytearray(workbook)
    for _ in range(rng.randint(1, 5)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _damage_part(workbook: bytes, rng: random.Random) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(workbook))
    parts = [name for name in source.namelist() if name.endswith(".xml")]
    target = rng.choice(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name in source.namelist():
            data = bytearray(source.read(name))
            if name == target and data:
                for _ in range(rng.randint(1, 8)):
                    at, choice = rng.randrange(len(data)), rng.random()
                    if choice < 0.4:
                        data[at] = rng.randrange(256)
                    elif choice < 0.7:
                        del data[at : at + rng.randint(1, 20)]
                    else:
                        data[at:at] = rng.choice(_INSERTS)
            out.writestr(name, bytes(data))
    return buffer.getvalue()
