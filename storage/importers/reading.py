"""Read an export file (CSV or the first sheet of an XLSX) as a header and chunks of text rows.

Every row keeps the number of the line it came from (1 = the header line), so that errors can
name it. CSV encodings (UTF-8, UTF-8 with BOM, UTF-16 with BOM, Windows-1252) and the separator
(``,`` ``;`` or tab, from the header line) are detected; a file that no one encoding reads as
written (mixed encodings, cut off inside a letter) is refused naming the line and byte. XLSX
files are checked against zip and XML bombs before they are opened, every row of the first
sheet is read whatever its <dimension> tag says, and cells are read as values, never by
evaluating formulas: a formula stays text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import pathlib
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

CHUNK_ROWS = 100_000
_BLOCK = 1 << 20
_ARROW_BLOCK = 1 << 23  # bytes of CSV text per chunk of the fast reader
_LINE_ONLY = b"\x01"  # the fast reader's separator: no byte of the file, so a row is a line

# Limits for the inside of an XLSX file (a zip of XML parts).
XLSX_MAX_UNCOMPRESSED = 2 * 1024**3
XLSX_MAX_RATIO = 200
XLSX_MAX_PARTS = 10_000


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; nothing of it is imported."""


@dataclass
class Chunk:
    """A block of rows as columns: one string Series per header position (up to CHUNK_ROWS
    rows from the exact reader, a block of bytes' worth from the fast one)."""

    lines: np.ndarray
    columns: list[pd.Series]

    @classmethod
    def from_rows(cls, lines: list[int], rows: list[list[str]], width: int) -> Chunk:
        if any(len(r) < width for r in rows):
            rows = [r if len(r) >= width else r + [""] * (width - len(r)) for r in rows]
        columns = list(zip(*rows))[:width] if rows else [()] * width
        return cls(np.asarray(lines, dtype=np.int64),
                   [pd.Series(c, dtype="str") for c in columns])


@dataclass
class Table:
    path: pathlib.Path
    header: list[str]
    decimal_comma: bool
    chunks: Iterator[Chunk]
    size: int  # bytes, for progress
    position: Callable[[], int]  # bytes read so far
    digest: str  # SHA-256 of the file's bytes (hex)
    close: Callable[[], None] = lambda: None  # for a table whose chunks are not read


def open_table(path: pathlib.Path, max_bytes: int) -> Table:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}") from None
    if not path.is_file():
        raise UnreadableFile("not a file")
    if size > max_bytes:
        raise UnreadableFile(f"the file is {size / 1024**2:.0f} MB, over the limit of "
                             f"{max_bytes / 1024**2:.0f} MB (TEAMPULS_IMPORT_MAX_MB)")
    with path.open("rb") as raw:
        start = raw.read(8)
    if start.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, size)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile("this is an old Excel .xls file; save it as .xlsx or CSV")
    return _open_csv(path, size)


@dataclass(frozen=True)
class _Scanned:
    encoding: str
    quotes: bool  # a quote character, or the byte 0x01 the fast reader takes as separator
    digest: str  # SHA-256 of the file's bytes


def _scan(path: pathlib.Path) -> _Scanned:
    """One pass over a CSV file: its encoding, whether it must be read the exact way (it holds
    a quote character, or the byte 0x01 that the fast reader takes as its separator), and the
    digest of its content.

    The encoding is one that decodes every byte as written, or the file is refused naming the
    line and byte (``UnreadableFile``): a byte order mark decides; else a file that is valid
    UTF-8 throughout is UTF-8; a file with no valid UTF-8 sequence of two or more bytes is
    Windows-1252 (exports of older systems), unless it holds one of the five bytes Windows-1252
    leaves undefined; and a file with valid UTF-8 letters as well as bytes that are not UTF-8
    (a stray byte of another encoding, or a file cut off inside a letter) is refused: no single
    encoding reads it as written.
    """
    with _Digest() as digest, path.open("rb") as raw:
        start = raw.read(4)
        raw.seek(0)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            _check_decodes(path, raw, "utf-16", digest)
            return _Scanned("utf-16", True, digest.hexdigest())  # quotes are two bytes wide
        bom = start.startswith(codecs.BOM_UTF8)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0  # of the block in the file
        letters = False  # a valid UTF-8 sequence of two or more bytes so far
        quotes = False
        cp1252: _Cp1252Check | None = None  # once a byte is not UTF-8
        while block := raw.read(_BLOCK):
            digest.update(block)
            if b"\x00" in block:
                raise UnreadableFile("the file holds NUL bytes: it is not a text export "
                                     "(UTF-16 files need a byte order mark)")
            quotes = quotes or b'"' in block or _LINE_ONLY in block
            if cp1252 is not None:
                cp1252.feed(block, offset)
            else:
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                    # (a sequence left open at the block's end is not a letter yet)
                    letters = letters or not block[:len(block) - len(decoder.getstate()[0])] \
                        .isascii()
                except UnicodeDecodeError as error:
                    at = offset - pending + error.start
                    if bom or letters or not error.object[:error.start].isascii():
                        raise _not_utf8(path, at, error.object[error.start], bom) from None
                    cp1252 = _Cp1252Check(at, error.object[error.start])
                    cp1252.feed(error.object[error.start:], at)
            offset += len(block)
        if cp1252 is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as error:  # a sequence cut off at the end of the file
                at = offset - len(error.object) + error.start
                if bom or letters:
                    raise _refused(path, at, "the file ends inside a UTF-8 character: it "
                                             "seems cut off") from None
                cp1252 = _Cp1252Check(at, error.object[error.start])
                cp1252.feed(error.object[error.start:], at)
        if cp1252 is not None:
            cp1252.finish(path)
            return _Scanned("cp1252", quotes, digest.hexdigest())
    return _Scanned("utf-8-sig" if bom else "utf-8", quotes, digest.hexdigest())


_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"


def _utf8_letter(data: bytes) -> bool:
    """Whether ``data`` holds a valid UTF-8 sequence of two or more bytes. Candidates (a byte
    that may lead a sequence, before a continuation byte) are found with numpy, then decoded."""
    values = np.frombuffer(data, dtype=np.uint8)
    leads = np.flatnonzero(values[:-1] >= 0xC2)
    for at in leads[(values[leads + 1] & 0xC0) == 0x80].tolist():
        length = 2 if data[at] < 0xE0 else 3 if data[at] < 0xF0 else 4
        try:
            data[at:at + length].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


class _Cp1252Check:
    """The rest of a file whose first byte that is not UTF-8 came before any UTF-8 letter:
    Windows-1252 if no valid UTF-8 sequence of two or more bytes follows and no byte that
    Windows-1252 leaves undefined."""

    def __init__(self, first_offset: int, first_byte: int):
        self.first = (first_offset, first_byte)
        self.undefined: tuple[int, int] | None = None
        self.letters = False
        self._tail = b""  # the last bytes fed: a sequence may span two blocks

    def feed(self, data: bytes, offset: int) -> None:
        if not self.letters:
            self.letters = _utf8_letter(self._tail + data)
            self._tail = data[-3:]
        if self.undefined is None:
            found = [i for i in map(data.find, _CP1252_UNDEFINED) if i >= 0]
            if found:
                self.undefined = (offset + min(found), data[min(found)])

    def finish(self, path: pathlib.Path) -> None:
        if self.letters:  # UTF-8 letters after a byte that is not UTF-8
            raise _not_utf8(path, *self.first, bom=False)
        if self.undefined is not None:
            at, byte = self.undefined
            raise _refused(path, at, f"0x{byte:02X} is not UTF-8, and Windows-1252 leaves it "
                                     "undefined: the file's encoding is unknown (save it as UTF-8)")


def _not_utf8(path: pathlib.Path, at: int, byte: int, bom: bool) -> UnreadableFile:
    why = ("the file starts with a UTF-8 byte order mark" if bom else
           "but the file's other letters are: it mixes encodings")
    return _refused(path, at, f"0x{byte:02X} is not UTF-8, {why} (save it again as UTF-8)")


def _refused(path: pathlib.Path, at: int, message: str,
             encoding: str | None = None) -> UnreadableFile:
    """The file refused at byte offset ``at`` (0-based), named as line and byte (1-based)."""
    return UnreadableFile(f"line {_line_at(path, at, encoding):,}, byte {at + 1:,}: {message}")


def _line_at(path: pathlib.Path, at: int, encoding: str | None = None) -> int:
    """The line (1-based) of byte offset ``at``: line breaks are LF, CR LF or CR, as the
    readers count them."""
    breaks = 0
    with path.open("rb") as raw:
        if encoding is not None:  # UTF-16: decode the bytes before
            text = raw.read(at).decode(encoding, errors="replace")
            return text.count("\n") + text.count("\r") - text.count("\r\n") + 1
        left, last = at, b""
        while left > 0 and (block := raw.read(min(_BLOCK, left))):
            left -= len(block)
            breaks += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if last == b"\r" and block.startswith(b"\n"):
                breaks -= 1
            last = block[-1:]
    return breaks + 1


def _check_decodes(path: pathlib.Path, raw, encoding: str, digest) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    while True:
        block = raw.read(_BLOCK)
        digest.update(block)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as error:
            at = offset - pending + error.start
            raise _refused(path, at, f"not valid {encoding.upper()} ({error.reason})",
                           encoding) from None
        if not block:
            return
        offset += len(block)


def _detect_separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class _CountingReader(io.RawIOBase):
    """Counts the bytes read, so that progress can be shown for large files."""

    def __init__(self, raw):
        self.raw, self.count = raw, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self):
        self.raw.close()
        super().close()


def _open_csv(path: pathlib.Path, size: int) -> Table:
    scanned = _scan(path)
    encoding, has_quotes = scanned.encoding, scanned.quotes
    counter = _CountingReader(path.open("rb"))
    # The scan found every byte decodable: strict decoding is a second line of defence.
    text = io.TextIOWrapper(io.BufferedReader(counter, _BLOCK), encoding=encoding,
                            errors="strict", newline="")
    try:
        first = _first_nonblank_line(text)
    except UnicodeDecodeError as error:
        counter.close()
        raise UnreadableFile(f"cannot decode the file as {encoding}: {error.reason}") from None
    if first is None:
        counter.close()
        raise UnreadableFile("the file is empty")
    header_line_no, header_text = first
    separator = _detect_separator(header_text)
    header = next(csv.reader([header_text], delimiter=separator))
    width = len(header)
    if not has_quotes:
        # Without quote characters every row is one line: Arrow's reader, exact line numbers.
        counter.close()
        fast_counter = _CountingReader(path.open("rb"))
        return Table(path, header, separator != ",",
                     _fast_chunks(fast_counter, encoding, separator, header_line_no, width),
                     size, lambda: fast_counter.count, scanned.digest, fast_counter.close)

    def chunks() -> Iterator[Chunk]:
        try:
            reader = csv.reader(text, delimiter=separator, strict=True)
            lines: list[int] = []
            rows: list[list[str]] = []
            # reader.line_num counts physical lines read so far, header excluded here.
            line_no = header_line_no
            for row in reader:
                first_line = line_no + 1
                line_no = header_line_no + reader.line_num
                if not row:  # a blank line; rows of empty fields are dropped by the checker
                    continue
                if len(row) > width and any(f.strip() for f in row[width:]):
                    raise UnreadableFile(f"line {first_line} has {len(row)} fields, "
                                         f"the header has {width}")
                lines.append(first_line)
                rows.append(row)
                if len(rows) >= CHUNK_ROWS:
                    yield Chunk.from_rows(lines, rows, width)
                    lines, rows = [], []
            if rows:
                yield Chunk.from_rows(lines, rows, width)
        except csv.Error as error:
            raise UnreadableFile(f"line {header_line_no + reader.line_num}: "
                                 f"not valid CSV ({error})") from None
        except UnicodeDecodeError as error:
            raise UnreadableFile(f"cannot decode the file as {encoding}: {error.reason}") from None
        finally:
            counter.close()

    return Table(path, header, separator != ",", chunks(), size, lambda: counter.count,
                 scanned.digest, counter.close)


def _fast_chunks(counter: _CountingReader, encoding: str, separator: str, header_line: int,
                 width: int) -> Iterator[Chunk]:
    """Chunks of a file without quotes, read by Arrow's CSV reader on its own threads (outside
    Python's lock, so the database writer runs meanwhile). Each line is read whole, blank lines
    too, and split at the separator, so the rows keep their exact line numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as arrow_csv

    source = io.BufferedReader(counter, _BLOCK) if encoding.startswith("utf-8") \
        else _Utf8(counter, encoding)
    first = header_line + 1
    try:  # opening reads the first block already
        reader = arrow_csv.open_csv(
            source,
            read_options=arrow_csv.ReadOptions(column_names=["text"], skip_rows=header_line,
                                               block_size=_ARROW_BLOCK, encoding="utf8"),
            parse_options=arrow_csv.ParseOptions(
                delimiter=_LINE_ONLY.decode(), quote_char=False, escape_char=False,
                newlines_in_values=False, ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(column_types={"text": pa.string()},
                                                     strings_can_be_null=False))
        for batch in reader:
            text = batch.column(0)
            fields = pc.split_pattern(text, separator)
            counts = pc.list_value_length(fields).to_numpy()
            if (counts > width).any():
                _refuse_extra_fields(fields, counts, width, first)
            if (counts < width).any():  # short rows get empty fields, as the exact reader does
                padding = pc.binary_repeat(separator, pa.array(np.maximum(width - counts, 0)))
                fields = pc.split_pattern(pc.binary_join_element_wise(text, padding, ""),
                                          separator)
            lines = np.arange(first, first + len(text), dtype=np.int64)
            first += len(text)
            yield Chunk(lines, [pd.Series(pd.array(pc.list_element(fields, i), dtype="str"))
                                for i in range(width)])
    except pa.ArrowInvalid as error:
        raise UnreadableFile(f"cannot read the file: {error}") from None
    except UnicodeDecodeError as error:  # the file changed since the scan
        raise UnreadableFile(f"cannot decode the file as {encoding}: {error.reason}") from None
    finally:
        counter.close()


def _refuse_extra_fields(fields, counts: np.ndarray, width: int, first: int) -> None:
    """Fields beyond the header's are refused unless they are empty (a trailing separator)."""
    for i in np.flatnonzero(counts > width):
        extra = fields[int(i)].as_py()[width:]
        if any(f.strip() for f in extra):
            raise UnreadableFile(f"line {first + int(i)} has {len(extra) + width} fields, "
                                 f"the header has {width}")


class _Utf8(io.RawIOBase):
    """A byte stream in ``encoding`` read as UTF-8, strictly, as the exact reader does (the
    scan has found every byte defined)."""

    def __init__(self, raw: io.RawIOBase, encoding: str):
        self.raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            block = self.raw.read(_BLOCK)
            self._pending = self._decoder.decode(block or b"", final=not block).encode("utf-8")
            if not block:
                break
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _first_nonblank_line(text: io.TextIOBase) -> tuple[int, str] | None:
    for number, line in enumerate(text, start=1):
        stripped = line.rstrip("\r\n")
        if stripped.strip(" \t;,"):
            return number, stripped
    return None


def _check_zip(path: pathlib.Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile("the file starts like an XLSX file but is not a valid one") from None
    if len(parts) > XLSX_MAX_PARTS:
        raise UnreadableFile(f"the XLSX file has {len(parts)} parts; at most "
                             f"{XLSX_MAX_PARTS} are accepted")
    total = sum(p.file_size for p in parts)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise UnreadableFile(f"the XLSX file unpacks to {total / 1024**3:.1f} GB; at most "
                             f"{XLSX_MAX_UNCOMPRESSED / 1024**3:.0f} GB are accepted")
    for part in parts:
        if part.file_size > 1024**2 and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1):
            raise UnreadableFile(f"the XLSX part {part.filename} is compressed over "
                                 f"{XLSX_MAX_RATIO} times: refused as a possible zip bomb")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _open_xlsx(path: pathlib.Path, size: int) -> Table:
    _check_zip(path)
    import openpyxl

    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise UnreadableFile("XLSX import needs the defusedxml package")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds for broken files
        from defusedxml import DefusedXmlException

        cause = error.__cause__ or error.__context__
        if isinstance(cause, DefusedXmlException) or isinstance(error, DefusedXmlException):
            raise UnreadableFile("the XLSX file declares XML entities (a possible XML bomb): "
                                 "refused") from None
        reason = str(error).splitlines()[0]
        raise UnreadableFile(f"cannot open the XLSX file: {reason}") from None
    sheet = workbook.worksheets[0]
    declared_rows = sheet.max_row or 1  # from the sheet's <dimension> tag: for progress only
    # In read-only mode openpyxl reads only the rows and columns the <dimension> tag declares,
    # and exporters leave it stale: every row and cell of the sheet is read instead.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    header_line = 0
    for header_line, values in enumerate(rows, start=1):
        texts = [_cell_text(v) for v in values]
        if any(t.strip() for t in texts):
            header = texts
            break
    if header is None:
        workbook.close()
        raise UnreadableFile("the first sheet is empty")
    progress = {"rows": 0}
    width = len(header)

    def chunks() -> Iterator[Chunk]:
        try:
            lines: list[int] = []
            out: list[list[str]] = []
            for number, values in enumerate(rows, start=header_line + 1):
                texts = [_cell_text(v) for v in values]
                progress["rows"] = number
                if not any(t.strip() for t in texts):
                    continue
                if len(texts) > width and any(t.strip() for t in texts[width:]):
                    used = max(i for i, t in enumerate(texts) if t.strip()) + 1
                    raise UnreadableFile(f"line {number} has {used} cells, "
                                         f"the header has {width}")
                lines.append(number)
                out.append(texts)
                if len(out) >= CHUNK_ROWS:
                    yield Chunk.from_rows(lines, out, width)
                    lines, out = [], []
            if out:
                yield Chunk.from_rows(lines, out, width)
        finally:
            workbook.close()

    # Progress of an XLSX file is only known in rows; scale by the sheet's declared size.
    total_rows = max(declared_rows, 1)
    return Table(path, header, True, chunks(), size,
                 lambda: min(size, size * progress["rows"] // total_rows), _file_digest(path),
                 workbook.close)


def _file_digest(path: pathlib.Path) -> str:
    with _Digest() as digest, path.open("rb") as raw:
        while block := raw.read(_BLOCK):
            digest.update(block)
        return digest.hexdigest()


class _Digest:
    """SHA-256 of blocks, taken on a thread of its own (hashlib lets go of Python's lock) while
    the scan looks at the next block: one block at a time is in flight."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="teampuls-digest")
        self._pending: Future | None = None

    def update(self, block: bytes) -> None:
        self._wait()
        self._pending = self._worker.submit(self._hash.update, block)

    def hexdigest(self) -> str:
        self._wait()
        return self._hash.hexdigest()

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Digest:
        return self

    def __exit__(self, *exc) -> None:
        self._worker.shutdown(wait=True)
