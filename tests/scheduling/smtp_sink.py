"""A minimal SMTP server on 127.0.0.1 that keeps what it receives (enough for smtplib)."""

from __future__ import annotations

import socketserver
import threading


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ready\r\n")
                mail: dict = {"to": []}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").strip()
                    upper = cmd.upper()
                    if upper.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250 sink\r\n")
                    elif upper.startswith("MAIL FROM"):
                        mail = {"from": cmd[10:], "to": []}
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
