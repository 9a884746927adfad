"""Notifiers: a webhook and e-mail (SMTP) for the events a platform admin must not miss.

Events: ``run_failed`` (a run stopped on an error), ``records_quarantined`` (a run ended with
records in quarantine; one message a run, not one a batch), ``suggestions_left``
(reconciliation left matches for a person). Configure under ``notify:`` in hub.yaml. A
notifier that cannot deliver logs a warning: it never fails the run it reports on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from email.message import EmailMessage

from hub import hookimpl
from hub.secrets import redactor

log = logging.getLogger("hub.notify")
_settings: dict = {}


@hookimpl
def hub_configure(config):
    _settings.clear()
    _settings.update(config.notify or {})


def _wanted(channel: dict, event: str) -> bool:
    return event in channel.get("events", ["run_failed", "records_quarantined", "suggestions_left"])


def _webhook(channel: dict, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    import httpx  # only when a webhook is sent: see hub/httpclient.py

    headers = {"Content-Type": "application/json", "User-Agent": "wasl-hub"}
    if channel.get("secret"):
        headers["X-Wasl-Signature"] = "sha256=" + hmac.new(channel["secret"].encode(), body, hashlib.sha256).hexdigest()
    for attempt in range(3):
        try:
            resp = httpx.post(channel["url"], content=body, headers=headers, timeout=10)
            if resp.status_code < 500:
                if resp.status_code >= 400:
                    log.warning("webhook refused the %s notification: %s", payload["event"], resp.status_code)
                return
        except httpx.HTTPError as exc:
            log.warning("webhook unreachable (%s), attempt %s", type(exc).__name__, attempt + 1)
        time.sleep(0.5 * 2**attempt)
    log.warning("webhook: %s notification not delivered", payload["event"])


def _email(channel: dict, subject: str, text: str) -> None:
    """Send one message; with ``ssl`` or ``starttls`` the server's certificate is verified.

    smtplib's ``starttls()`` without a context accepts any certificate, so whoever sits between
    the hub and the mail server could read the login; the default context checks it.
    """
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, channel["sender"], ", ".join(channel["to"])
    msg.set_content(text)
    tls = ssl.create_default_context() if channel.get("ssl") or channel.get("starttls") else None
    try:
        if channel.get("ssl"):
            connection = smtplib.SMTP_SSL(channel["host"], channel.get("port", 465), timeout=15, context=tls)
        else:
            connection = smtplib.SMTP(channel["host"], channel.get("port", 25), timeout=15)
        with connection as smtp:
            if channel.get("starttls") and not channel.get("ssl"):
                smtp.starttls(context=tls)
            if channel.get("username"):
                smtp.login(channel["username"], channel.get("password", ""))
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("e-mail notification not sent: %s", redactor.redact(str(exc)))


def _notify(event: str, payload: dict, subject: str, text: str) -> None:
    payload = {"event": event, **payload}
    if "webhook" in _settings and _wanted(_settings["webhook"], event):
        _webhook(_settings["webhook"], payload)
    if "email" in _settings and _wanted(_settings["email"], event):
        _email(_settings["email"], subject, text)


@hookimpl
def hub_run_failed(run, error):
    _notify(
        "run_failed",
        {"connection": run["connection"], "run": run["id"], "error": error},
        f"[Wasl Hub] {run['connection']}: run {run['id']} failed",
        f"The run {run['id']} of {run['connection']} failed:\n\n{error}\n\nhub runs show {run['id']}",
    )


@hookimpl
def hub_run_finished(run):
    if run.get("quarantined"):
        _notify(
            "records_quarantined",
            {"connection": run["connection"], "run": run["id"], "quarantined": run["quarantined"]},
            f"[Wasl Hub] {run['connection']}: {run['quarantined']} record(s) quarantined",
            f"The run {run['id']} of {run['connection']} quarantined {run['quarantined']} record(s).\n\nhub quarantine list --connection {run['connection']}",
        )


@hookimpl
def hub_reconcile_finished(summary):
    if summary.get("suggested"):
        _notify(
            "suggestions_left",
            dict(summary),
            f"[Wasl Hub] reconciliation: {summary['suggested']} suggestion(s) to review",
            f"Reconciliation matched {summary.get('matched', 0)} line(s) and left {summary['suggested']} suggestion(s) for a person.\n\nhub matches list",
        )
