"""Whether an encrypted Office file opens with Excel's built-in password, "VelvetSweatshop".

Excel encrypts a workbook with that password when it is marked read-only or its structure is
protected, and opens it without asking anyone: to its owner the file has no password at all,
so "remove the password" would be advice they cannot follow. Only trying the password tells
such a file from one locked by a person. That needs the file's EncryptionInfo stream (inside
the compound file Office wraps encrypted workbooks in), its key derivation (SHA-512, 100,000
rounds in Office's Agile encryption) and one AES decryption of two blocks, done here in a few
lines of Python to keep the package free of a cryptography dependency; it runs once, on a file
already refused.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from xml.parsers import expat

DEFAULT_PASSWORD = "VelvetSweatshop"

_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE
_ENTRY_SIZE = 128
#: Office's own ceiling on the key derivation's rounds; more is no file Office wrote.
_MAX_SPIN = 10_000_000
_VERIFIER_INPUT_BLOCK = bytes.fromhex("fea7d2763b4b9e79")
_VERIFIER_VALUE_BLOCK = bytes.fromhex("d7aa0f6d3061344e")
_HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}


class _Malformed(Exception):
    pass


def opens_with_default_password(data: bytes) -> bool:
    """True when ``data``, a compound file holding an encrypted Office document, is
    encrypted with Excel's default password. False for any other password, and for anything
    this cannot read (Standard encryption, damage): those keep the ordinary message."""
    try:
        info = _stream(data, "EncryptionInfo")
        if info is None or len(info) < 8:
            return False
        major, minor, flags = struct.unpack_from("<HHI", info)
        if (major, minor) != (4, 4) or flags != 0x40:
            return False  # Standard encryption (Excel 2007): not tried
        return _agile_password_matches(info[8:], DEFAULT_PASSWORD)
    except (_Malformed, struct.error, ValueError, KeyError, IndexError, expat.ExpatError):
        return False


# --- the compound file ------------------------------------------------------------------


def _stream(data: bytes, wanted: str) -> bytes | None:
    """The stream named ``wanted`` at the top of the compound file, or None."""
    if len(data) < 512:
        raise _Malformed
    sector_size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    mini_size = 1 << struct.unpack_from("<H", data, 0x20)[0]
    if sector_size not in (512, 4096) or mini_size != 64:
        raise _Malformed
    first_directory, _, cutoff, first_minifat, _, first_difat, difat_count = struct.unpack_from(
        "<IIIIIII", data, 0x30
    )
    sectors = (len(data) - sector_size) // sector_size

    def sector(number: int) -> bytes:
        if number >= sectors:
            raise _Malformed
        start = (number + 1) * sector_size
        return data[start : start + sector_size]

    # The FAT's own sectors: 109 listed in the header, the rest in a chain of DIFAT sectors.
    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < _END_OF_CHAIN]
    per_sector = sector_size // 4
    difat = first_difat
    for _ in range(min(difat_count, sectors)):
        if difat >= _END_OF_CHAIN:
            break
        listed = struct.unpack(f"<{per_sector}I", sector(difat))
        fat_sectors += [n for n in listed[:-1] if n < _END_OF_CHAIN]
        difat = listed[-1]
    fat: list[int] = []
    for number in fat_sectors:
        fat += struct.unpack(f"<{per_sector}I", sector(number))

    def chain(start: int, table: list[int], read: int) -> list[int]:
        found: list[int] = []
        while start < _END_OF_CHAIN:
            if start >= len(table) or len(found) > read:
                raise _Malformed  # a loop or a broken chain
            found.append(start)
            start = table[start]
        return found

    directory = b"".join(sector(n) for n in chain(first_directory, fat, sectors))
    entries = [directory[i : i + _ENTRY_SIZE] for i in range(0, len(directory), _ENTRY_SIZE)]
    if not entries:
        raise _Malformed
    root = entries[0]
    for entry in entries[1:]:
        name_length = struct.unpack_from("<H", entry, 64)[0]
        name = entry[: max(0, name_length - 2)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name != wanted:
            continue
        start, size = struct.unpack_from("<IQ", entry, 116)
        if sector_size == 512:
            size &= 0xFFFFFFFF  # version 3 files may leave the high half uninitialised
        if size >= cutoff:
            body = b"".join(sector(n) for n in chain(start, fat, sectors))
            return body[:size]
        # A small stream lives in the mini stream, in 64-byte sectors of its own table.
        mini_stream = b"".join(
            sector(n) for n in chain(struct.unpack_from("<I", root, 116)[0], fat, sectors)
        )
        minifat: list[int] = []
        for number in chain(first_minifat, fat, sectors):
            minifat += struct.unpack(f"<{per_sector}I", sector(number))
        pieces = chain(start, minifat, len(mini_stream) // mini_size)
        body = b"".join(mini_stream[n * mini_size : (n + 1) * mini_size] for n in pieces)
        return body[:size]
    return None


# --- Agile encryption (ECMA-376 part 2, 2.3.4.10) ---------------------------------------


def _agile_password_matches(xml: bytes, password: str) -> bool:
    key_data: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        # The password's key encryptor: <p:encryptedKey>, in its own namespace.
        if tag.rpartition("}")[2] == "encryptedKey" and "encryptedVerifierHashInput" in attrs:
            key_data.update(attrs)

    def refuse(*_: object) -> None:
        raise _Malformed  # no DTD, no entities: this is untrusted XML

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.Parse(xml.rstrip(b"\0"), True)
    algorithm = _HASHES[key_data["hashAlgorithm"]]
    spin = int(key_data["spinCount"])
    key_bytes = int(key_data["keyBits"]) // 8
    block = int(key_data["blockSize"])
    if key_data.get("cipherAlgorithm") != "AES" or key_data.get("cipherChaining") != (
        "ChainingModeCBC"
    ):
        return False
    if not 0 <= spin <= _MAX_SPIN or key_bytes not in (16, 24, 32) or block != 16:
        return False
    salt = _base64(key_data["saltValue"])
    digest = hashlib.new(algorithm, salt + password.encode("utf-16-le")).digest()
    for round_number in range(spin):
        digest = hashlib.new(algorithm, struct.pack("<I", round_number) + digest).digest()

    def key(block_key: bytes) -> bytes:
        derived = hashlib.new(algorithm, digest + block_key).digest()
        return derived[:key_bytes].ljust(key_bytes, b"\x36")

    iv = salt[:block].ljust(block, b"\x36")
    hash_input = _base64(key_data["encryptedVerifierHashInput"])
    hash_value = _base64(key_data["encryptedVerifierHashValue"])
    verifier = _cbc_decrypt(key(_VERIFIER_INPUT_BLOCK), iv, hash_input)
    expected = _cbc_decrypt(key(_VERIFIER_VALUE_BLOCK), iv, hash_value)
    salt_size = int(key_data["saltSize"])
    hash_size = int(key_data["hashSize"])
    computed = hashlib.new(algorithm, verifier[:salt_size]).digest()
    return computed[:hash_size] == expected[:hash_size]


def _base64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- AES decryption (FIPS-197), enough for two blocks ---------------------------------------


def _tables() -> tuple[list[int], list[int]]:
    sbox = [0] * 256
    inverse = [0] * 256
    p = q = 1
    # The S-box from its definition: the multiplicative inverse in GF(2^8), then an affine map.
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        rotated = q ^ _rotl8(q, 1) ^ _rotl8(q, 2) ^ _rotl8(q, 3) ^ _rotl8(q, 4)
        sbox[p] = rotated ^ 0x63
        if p == 1:
            break
    sbox[0] = 0x63
    for index, value in enumerate(sbox):
        inverse[value] = index
    return sbox, inverse


def _rotl8(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (8 - shift))) & 0xFF


_SBOX, _INV_SBOX = _tables()


def _xtime(value: int) -> int:
    value <<= 1
    return (value ^ 0x11B) if value & 0x100 else value


def _mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a = _xtime(a)
        b >>= 1
    return product


def _expand_key(key: bytes) -> list[list[int]]:
    words_in_key = len(key) // 4
    rounds = words_in_key + 6
    words = [list(key[i : i + 4]) for i in range(0, len(key), 4)]
    rcon = 1
    for i in range(words_in_key, 4 * (rounds + 1)):
        word = list(words[i - 1])
        if i % words_in_key == 0:
            word = [_SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        elif words_in_key > 6 and i % words_in_key == 4:
            word = [_SBOX[b] for b in word]
        words.append([a ^ b for a, b in zip(words[i - words_in_key], word, strict=True)])
    return [sum(words[4 * r : 4 * r + 4], []) for r in range(rounds + 1)]


def _decrypt_block(round_keys: list[list[int]], block: bytes) -> bytes:
    state = [b ^ k for b, k in zip(block, round_keys[-1], strict=True)]
    for round_key in reversed(round_keys[1:-1]):
        state = _inverse_round(state)
        state = [b ^ k for b, k in zip(state, round_key, strict=True)]
        state = _inverse_mix(state)
    state = _inverse_round(state)
    return bytes(b ^ k for b, k in zip(state, round_keys[0], strict=True))


def _inverse_round(state: list[int]) -> list[int]:
    # InvShiftRows then InvSubBytes; the state is column by column (byte r + 4c is row r).
    shifted = [0] * 16
    for c in range(4):
        for r in range(4):
            shifted[r + 4 * ((c + r) % 4)] = state[r + 4 * c]
    return [_INV_SBOX[b] for b in shifted]


def _inverse_mix(state: list[int]) -> list[int]:
    mixed = []
    for c in range(4):
        a = state[4 * c : 4 * c + 4]
        for r in range(4):
            mixed.append(
                _mul(a[r], 14)
                ^ _mul(a[(r + 1) % 4], 11)
                ^ _mul(a[(r + 2) % 4], 13)
                ^ _mul(a[(r + 3) % 4], 9)
            )
    return mixed


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(data) % 16:
        raise _Malformed
    round_keys = _expand_key(key)
    plain = bytearray()
    previous = iv
    for start in range(0, len(data), 16):
        block = data[start : start + 16]
        decrypted = _decrypt_block(round_keys, block)
        plain += bytes(a ^ b for a, b in zip(decrypted, previous, strict=True))
        previous = block
    return bytes(plain)
