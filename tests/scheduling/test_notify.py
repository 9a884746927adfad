"""Notifiers: a failed run, quarantined records and reconciliation suggestions reach a webhook and a mailbox."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from hub.testing import Response, TestServer
from tests.reconcile.builders import Line, camt053
from tests.reconcile.test_matching import donation
from tests.scheduling.smtp_sink import SmtpSink


@pytest.fixture
def receivers():
    server = TestServer().start()
    got = []
    server.route("POST", "/hooks/wasl", lambda req: (got.append(req), Response(204, b""))[1])
    sink = SmtpSink()
    yield server, got, sink
    server.stop()
    sink.close()


def _config(server, sink, events="[run_failed, records_quarantined, suggestions_left]"):
    return f"""\
store: sqlite:///hub.db
notify:
  webhook: {{url: "{server.url}/hooks/wasl", secret: "${{HOOK_SECRET}}", events: {events}}}
  email: {{host: 127.0.0.1, port: {sink.port}, sender: hub@assoc.example, to: [admin@assoc.example], events: {events}}}
connections:
  a:
    connector: csv
    settings: {{path: a.csv}}
    streams:
      s: {{entity: association}}
  donations:
    connector: jsonl
    settings: {{path: d.jsonl}}
    streams:
      d: {{entity: donation}}
  bank:
    connector: statement
    settings: {{path: s.xml}}
"""


def test_a_failed_run_is_signed_and_mailed(folder, receivers):
    server, got, sink = receivers
    folder.write("hub.yaml", _config(server, sink))
    r = folder.hub("run", "a", env={"HOOK_SECRET": "s3cret-hook-key"})
    assert r.code == 2
    [req] = got
    body = req.json()
    assert (body["event"], body["connection"]) == ("run_failed", "a") and "a.csv: no such file" in body["error"]
    expected = "sha256=" + hmac.new(b"s3cret-hook-key", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Wasl-Signature"] == expected
    [mail] = sink.messages
    assert "admin@assoc.example" in mail["to"][0] and "Subject: [Wasl Hub] a: run 1 failed" in mail["data"]


def test_quarantined_records_are_reported_once_a_run(folder, receivers):
    server, got, sink = receivers
    folder.write("hub.yaml", _config(server, sink, "[records_quarantined]"))
    folder.write_csv(
        "a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "Beirut", "active"], ["a2", "جمعية", "Tyre", "active"]]
    )
    assert folder.hub("run", "a", env={"HOOK_SECRET": "k" * 8}).code == 1
    assert [(x.json()["event"], x.json()["quarantined"]) for x in got] == [("records_quarantined", 2)]
    assert len(sink.messages) == 1


def test_reconciliation_suggestions_are_announced(folder, receivers):
    """Through the hub_reconcile_finished hook, which the built-in notifiers implement."""
    server, got, sink = receivers
    folder.write("hub.yaml", _config(server, sink, "[suggestions_left]"))
    folder.write("d.jsonl", json.dumps(donation("D1", "40", "USD", "2026-10-02", name="Omar Khaled")) + "\n")
    folder.write("s.xml", camt053([Line("T1", "40", name="OMAR KHALED")]))
    env = {"HOOK_SECRET": "k" * 8}
    folder.hub("run", "donations", env=env)
    folder.hub("run", "bank", env=env)
    assert folder.hub("reconcile", env=env).code == 1
    assert [x.json()["event"] for x in got] == ["suggestions_left"] and got[0].json()["suggested"] == 1


def test_an_unreachable_notifier_never_fails_the_run(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nnotify:\n  webhook: {url: 'http://127.0.0.1:9/none'}\n  email: {host: 127.0.0.1, port: 9, sender: a@b, to: [c@d]}\n"
        "connections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n    streams:\n      s: {entity: association}\n",
    )
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "SY01", "active"]])
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "Beirut", "active"]])
    r = folder.hub("run", "a")
    assert r.code == 1, "the run's own outcome, not the notifier's"
    assert "webhook" in r.err and "e-mail notification not sent" in r.err


@pytest.fixture
def mail_ca(tmp_path):
    """A throwaway certificate authority, its certificate for 127.0.0.1, and the CA as a PEM file."""
    import ssl

    import trustme

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return server, str(tmp_path / "ca.pem")


def _mail_config(sink, tls: str) -> str:
    return (
        "store: sqlite:///hub.db\nnotify:\n"
        f"  email: {{host: 127.0.0.1, port: {sink.port}, {tls}, username: hub, password: '${{SMTP_PASSWORD}}',"
        " sender: hub@assoc.example, to: [admin@assoc.example]}\n"
        "connections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n    streams:\n      s: {entity: association}\n"
    )


def test_starttls_checks_the_mail_servers_certificate_before_the_password_goes(folder, mail_ca):
    # smtplib's starttls() without a context takes any certificate: whoever sat between the
    # hub and the mail server could present its own and read the login.
    server_tls, ca_file = mail_ca
    sink = SmtpSink(server_tls)
    try:
        folder.write("hub.yaml", _mail_config(sink, "starttls: true"))
        env = {"SMTP_PASSWORD": "mail-s3cret"}
        untrusted = folder.hub("run", "a", env=env)  # no a.csv: the run fails, which is notified
        assert untrusted.code == 2
        assert "e-mail notification not sent" in untrusted.err and "CERTIFICATE_VERIFY_FAILED" in untrusted.err
        assert (sink.logins, sink.messages) == ([], []), "nothing sent to a server whose certificate is not trusted"
        assert "mail-s3cret" not in untrusted.err

        trusted = folder.hub("run", "a", env={**env, "SSL_CERT_FILE": ca_file})
        assert "e-mail notification not sent" not in trusted.err, trusted.err
        [(login, over_tls)] = sink.logins
        assert login.startswith("AUTH PLAIN") and over_tls
        [mail] = sink.messages
        assert mail["tls"] and "Subject: [Wasl Hub] a: run 2 failed" in mail["data"]
    finally:
        sink.close()


def test_ssl_speaks_tls_from_the_first_byte(folder, mail_ca):
    server_tls, ca_file = mail_ca
    sink = SmtpSink(server_tls, implicit=True)
    try:
        folder.write("hub.yaml", _mail_config(sink, "ssl: true"))
        r = folder.hub("run", "a", env={"SMTP_PASSWORD": "mail-s3cret", "SSL_CERT_FILE": ca_file})
        assert r.code == 2 and "e-mail notification not sent" not in r.err, r.err
        assert [over_tls for _login, over_tls in sink.logins] == [True]
        assert [m["tls"] for m in sink.messages] == [True]
    finally:
        sink.close()


def test_a_mail_login_without_tls_is_refused_in_the_config(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nnotify:\n  email: {host: smtp.example.org, port: 587, username: hub, password: x,"
        " sender: a@example.org, to: [b@example.org]}\n",
    )
    r = folder.hub("status")
    assert r.code == 2
    assert "notify.email: a username without starttls or ssl would send the password to smtp.example.org in clear" in r.err
