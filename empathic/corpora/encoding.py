"""Decoding corpus text files strictly: a file is read as the text it is, or named in an error.

Order: a byte-order mark decides (UTF-8, UTF-16, UTF-32); NUL bytes in every other position
without a mark mean UTF-16 (little or big endian by where the NULs are); otherwise UTF-8; then
the corpus's legacy encoding: latin-1 (IEMOCAP) only when every byte is a plausible latin-1 text
character (no control bytes, none of 0x80-0x9f), cp949 (KEMDy) when it decodes. Anything else is
a CorpusError naming the file and the first offending byte, never text made of garbage.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from ..errors import CorpusError

BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be")]
# Bytes no latin-1 text file holds: C0 controls other than tab / line ends, DEL, C1 controls.
NOT_LATIN1 = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LEGACY = ("latin-1", "cp949")
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")      # in decoded text: not a text file


def _text(text: str, enc: str, where) -> tuple[str, str]:
    bad = CONTROL.search(text)
    if bad:
        raise CorpusError(f"{where}: control character {bad.group()!r} at character {bad.start()} "
                          f"when read as {enc}: not a text file")
    return text, enc


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when NULs sit in every other byte, as in ASCII-range UTF-16."""
    if len(data) < 2 or len(data) % 2 or b"\x00" not in data:
        return None
    even, odd = data[0::2], data[1::2]
    if odd.count(0) >= len(odd) // 2 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= len(even) // 2 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode(data: bytes, where: str | Path, legacy: str) -> tuple[str, str]:
    """(text, encoding used); `legacy` is the corpus's fallback after UTF-8 (see LEGACY)."""
    if legacy not in LEGACY:
        raise ValueError(f"legacy must be one of {LEGACY}")
    for bom, enc in BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(enc)
            except UnicodeDecodeError as e:
                raise CorpusError(f"{where}: starts with a {enc} byte-order mark but does not "
                                  f"decode as {enc} ({e.reason} at byte {e.start + len(bom)})") from None
            return _text(text, enc, where)
    guess = _utf16_without_bom(data)
    if guess:
        try:
            text = data.decode(guess)
            if not CONTROL.search(text):
                return text, guess
        except UnicodeDecodeError:
            pass
    try:
        return _text(data.decode("utf-8"), "utf-8", where)
    except UnicodeDecodeError as e:
        utf8_error = e
    if legacy == "latin-1":
        bad = NOT_LATIN1.search(data)
        if bad is None:
            return data.decode("latin-1"), "latin-1"
        at, byte = bad.start(), data[bad.start()]
    else:
        try:
            return _text(data.decode("cp949"), "cp949", where)
        except UnicodeDecodeError as e:
            at, byte = e.start, data[e.start]
    raise CorpusError(f"{where}: not UTF-8, UTF-16 or {legacy} text (UTF-8 fails at byte "
                      f"{utf8_error.start}; byte 0x{byte:02x} at {at} is not {legacy} text)")


def read_text(path: Path, legacy: str) -> str:
    """The decoded text of a corpus file (see `decode`)."""
    return decode(Path(path).read_bytes(), path, legacy)[0]
