"""A minimal SMTP server on 127.0.0.1 that keeps what it receives (enough for smtplib).

With ``tls`` (an ``ssl.SSLContext`` for the server side) it offers STARTTLS and AUTH, or,
with ``implicit=True``, speaks TLS from the first byte (SMTPS). ``logins`` keeps every AUTH
line it was sent, and whether it came over TLS: a password must never arrive in clear.
"""

from __future__ import annotations

import socketserver
import ssl
import threading


class SmtpSink:
    def __init__(self, tls: ssl.SSLContext | None = None, *, implicit: bool = False) -> None:
        self.messages: list[dict] = []
        self.logins: list[tuple[str, bool]] = []  # (the AUTH line, whether it came over TLS)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def _secure(self) -> bool:
                try:
                    conn = tls.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return False  # the client refused our certificate
                self.rfile, self.wfile = conn.makefile("rb"), conn.makefile("wb", buffering=0)
                return True

            def handle(self) -> None:
                secure = False
                if implicit:
                    if not self._secure():
                        return
                    secure = True
                self.wfile.write(b"220 sink ready\r\n")
                mail: dict = {"to": []}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").strip()
                    upper = cmd.upper()
                    if upper.startswith(("EHLO", "HELO")):
                        offers = []
                        if tls is not None and not secure:
                            offers.append(b"STARTTLS")
                        if tls is not None:
                            offers.append(b"AUTH PLAIN LOGIN")
                        lines = [b"sink", *offers]
                        self.wfile.write(
                            b"".join(b"250" + (b" " if i == len(lines) - 1 else b"-") + x + b"\r\n" for i, x in enumerate(lines))
                        )
                    elif upper == "STARTTLS" and tls is not None and not secure:
                        self.wfile.write(b"220 go ahead\r\n")
                        if not self._secure():
                            return
                        secure = True
                    elif upper.startswith("AUTH"):
                        sink.logins.append((cmd, secure))
                        self.wfile.write(b"235 accepted\r\n")
                    elif upper.startswith("MAIL FROM"):
                        mail = {"from": cmd[10:], "to": [], "tls": secure}
                        self.wfile.write(b"250 ok\r\n")
                    elif upper.startswith("RCPT TO"):
                        mail["to"].append(cmd[8:])
                        self.wfile.write(b"250 ok\r\n")
                    elif upper == "DATA":
                        self.wfile.write(b"354 go on\r\n")
                        data = b""
                        while not data.endswith(b"\r\n.\r\n"):
                            chunk = self.rfile.readline()
                            if not chunk:
                                return
                            data += chunk
                        mail["data"] = data[:-5].decode("utf-8", "replace")
                        sink.messages.append(mail)
                        self.wfile.write(b"250 queued\r\n")
                    elif upper == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
