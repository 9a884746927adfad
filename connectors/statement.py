"""``statement``: bank statement files (camt.053/054/052 XML, MT940) as ``bank_transaction`` records.

Each line arrives already in common-schema shape (no mapping needed); its id is the bank's
reference, so importing the same statement twice stores nothing new. A statement whose
balances do not add up is reported in the log before anything is matched against it.
"""

from __future__ import annotations

from hub import CheckFailed, Connector, InputError, StreamConfig, hookimpl
from hub.filestreams import FileStream
from hub.statements import read_statement

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The statement file; relative to the config file's folder"},
        "format": {"enum": ["auto", "camt", "mt940"], "default": "auto"},
        "encoding": {
            "type": "string",
            "default": "auto",
            "description": "MT940 only: auto (UTF-8, else Windows-1256 or -1252 as the bytes show), or a codec such as windows-1256",
        },
    },
}


class _StatementRows:
    """The reader FileStream expects, over a parsed statement file."""

    header = None

    def __init__(self, path, fmt, log, encoding="auto"):
        self.statements = read_statement(path, fmt, encoding)
        for st in self.statements:
            problem = st.balance_problem()
            if problem:
                log.warning("%s: %s", path, problem)

    def rows(self, start_after: int = 0):
        n = 0
        for st in self.statements:
            for rec in st.transactions:
                n += 1
                if n > start_after:
                    yield n, n, rec


class StatementStream(FileStream):
    """Every transaction of every statement in the file, in file order."""

    entity = "bank_transaction"

    def open_file(self):
        s = self.connector.settings
        return _StatementRows(self.file_path(), s.get("format", "auto"), self.connector.context.log, s.get("encoding", "auto"))

    def columns(self):
        return None


class StatementSource(Connector):
    """Reads bank statements."""

    name = "statement"
    title = "Bank statement (camt.05x, MT940)"
    settings_schema = SETTINGS
    stream_class = StatementStream

    def streams(self):
        configured = list(self.context.streams) or [StreamConfig(name="transactions", entity="bank_transaction")]
        return [StatementStream(cfg, self) for cfg in configured]

    def check(self) -> str:
        try:
            rows = StatementStream(None, self).open_file()
        except InputError as exc:
            raise CheckFailed(str(exc)) from None
        n = sum(len(s.transactions) for s in rows.statements)
        return f"{len(rows.statements)} statement(s), {n} transaction(s)"


@hookimpl
def hub_register_connectors(registry):
    registry.add(StatementSource)
