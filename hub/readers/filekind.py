"""What a file really is, from its first bytes, when it is not what its reader expects.

People send what they have: a workbook saved under a ``.csv`` name, an Excel 97–2003 ``.xls``
file, a workbook protected with a password, a web system's "Excel export" that is an HTML
page, a PDF of a bank statement. Read as text, a workbook becomes hundreds of garbled
"records" in quarantine; handed to the workbook reader, it becomes a zip error. Telling the
person what the file is, and what to do with it, is worth the few bytes looked at.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import InputError

__all__ = ["FileKind", "binary_kind", "kind_of"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of Office 97–2003 and of encrypted Office files
_HEAD = 65536


class FileKind:
    """A kind of file a person may give where another was expected: what it is, and what to do."""

    def __init__(self, name: str, hint: str) -> None:
        self.name = name
        self.hint = hint

    def __repr__(self) -> str:
        return f"FileKind({self.name!r})"

    def refused(self, where: object, instead: str) -> InputError:
        """The file at ``where`` refused whole: "<where>: this is <kind>, <instead>", with what to do."""
        return InputError(f"{where}: this is {self.name}, {instead}", hint=self.hint)


XLSX = FileKind(
    "an Excel workbook (.xlsx)", "name it .xlsx and read it with connector: xlsx, or save it from the spreadsheet program as CSV UTF-8"
)
XLS = FileKind(
    "an Excel 97–2003 workbook (.xls), or another Office 97–2003 file",
    "open it in a spreadsheet program and save it as Excel Workbook (.xlsx), or as CSV UTF-8",
)
ENCRYPTED = FileKind(
    "an Office file protected with a password",
    "the hub cannot open it: save a copy without the password (in Excel: File > Info > Protect Workbook > Encrypt with Password, cleared)",
)
ODS = FileKind("an OpenDocument spreadsheet (.ods)", "open it in LibreOffice and save it as Excel Workbook (.xlsx), or as CSV UTF-8")
DOCX = FileKind("a Word document (.docx)", "a table in a document is not read: copy it into a spreadsheet and save that as .xlsx")
ZIP = FileKind("a zip archive", "unzip it and give the file inside")
PDF = FileKind(
    "a PDF document", "a PDF cannot be read as data: ask the sender for a CSV, XLSX or, from a bank, an MT940 or camt.053 statement"
)
GZIP = FileKind("a gzip-compressed file", "decompress it first (gunzip) and give the file inside")
ARCHIVE = FileKind("a compressed archive (7-Zip or RAR)", "extract it first and give the file inside")
SQLITE = FileKind("an SQLite database", "read it with connector: sql (url: sqlite:///…) and a query")
HTML = FileKind(
    "an HTML page (some systems save their 'Excel' export as a web page)",
    "open it in a spreadsheet program and save it as Excel Workbook (.xlsx), or export it again as CSV",
)
XML_SPREADSHEET = FileKind(
    "an Excel 2003 XML spreadsheet", "open it in a spreadsheet program and save it as Excel Workbook (.xlsx), or as CSV UTF-8"
)


def binary_kind(head: bytes) -> FileKind | None:
    """The kind of a file that begins with ``head``, when it is one no text reader can read; None otherwise.

    Only signatures no text file starts with are taken, so a CSV or JSON Lines file is never
    refused for a look-alike. A compound file is said to be protected with a password only
    when the bytes looked at show it (see :func:`kind_of`, which looks further).
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head[:200]:
            return ODS
        if b"xl/" in head:
            return XLSX
        if b"word/" in head:
            return DOCX
        return ZIP
    if head.startswith(_OLE):
        return ENCRYPTED if _encrypted_marker(head) else XLS
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith((b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07")):
        return ARCHIVE
    if head.startswith(b"SQLite format 3\x00"):
        return SQLITE
    return None


def _encrypted_marker(data: bytes) -> bool:
    """An encrypted Office file's compound file names its streams "EncryptionInfo" and "EncryptedPackage"."""
    return "EncryptedPackage".encode("utf-16-le") in data


def kind_of(path: Path, head: bytes | None = None) -> FileKind | None:
    """The kind of the file at ``path`` when it is not a workbook or a text file of data; None when it may be one.

    Beside :func:`binary_kind`, text that is an HTML page or an Excel 2003 XML spreadsheet
    is named, and a compound file is searched whole for the mark of a password. For error
    paths and first looks: it reads the file's start (or takes ``head``, its first 64 KiB a
    reader has read already), and all of a compound file.
    """
    with path.open("rb") as f:
        if head is None:
            head = f.read(_HEAD)
        else:
            head = head[:_HEAD]
            f.seek(len(head))
        kind = binary_kind(head)
        if kind is XLS:
            tail = head[-64:]
            while chunk := f.read(1 << 20):
                if _encrypted_marker(tail + chunk):
                    return ENCRYPTED
                tail = chunk[-64:]
    if kind is not None:
        return kind
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024].lower()
    if text.startswith((b"<!doctype html", b"<html")) or (text.startswith(b"<") and b"<table" in head[:_HEAD].lower()):
        return HTML
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        return XML_SPREADSHEET
    return None
