"""SASL OAUTHBEARER (RFC 7628) with Python's own imaplib and smtplib.

Usage: oauthbearer.py IMAP_HOST:PORT SMTP_HOST:PORT USER TOKEN
Prints one JSON object: for IMAP and SMTP, whether the token was accepted
and what the client then did (IMAP: messages in INBOX; SMTP: the reply to
a message sent to USER), or the error the library raised.
"""
import base64
import imaplib
import json
import smtplib
import sys


def bearer(user, token):
    msg = "n,a=%s,\x01auth=Bearer %s\x01\x01" % (user, token)

    # The library calls back with each server challenge. The first (empty)
    # gets the client message; RFC 7628 §3.2.3: an error challenge (JSON)
    # is answered with a single %x01, after which the server fails.
    def answer(challenge=None):
        if challenge and b"status" in challenge:
            return "\x01"
        return msg

    return answer


def main():
    imap_addr, smtp_addr, user, token = sys.argv[1:5]
    out = {}
    host, port = imap_addr.rsplit(":", 1)
    try:
        m = imaplib.IMAP4(host, int(port))
        cb = bearer(user, token)
        typ, _ = m.authenticate("OAUTHBEARER", lambda c: cb(c).encode())
        typ, data = m.select("INBOX")
        out["imap"] = {"ok": True, "exists": int(data[0])}
        m.logout()
    except imaplib.IMAP4.error as e:
        out["imap"] = {"ok": False, "error": str(e)}
    host, port = smtp_addr.rsplit(":", 1)
    try:
        s = smtplib.SMTP(host, int(port))
        s.ehlo("client.test")
        code, _ = s.auth("OAUTHBEARER", bearer(user, token), initial_response_ok=True)
        refused = s.sendmail(user + "@example.org", [user + "@example.org"],
                             "From: %s@example.org\r\nTo: %s@example.org\r\nSubject: via OAUTHBEARER\r\n\r\nhi\r\n" % (user, user))
        out["smtp"] = {"ok": True, "auth": code, "refused": list(refused)}
        s.quit()
    except smtplib.SMTPAuthenticationError as e:
        out["smtp"] = {"ok": False, "code": e.smtp_code}
    print(json.dumps(out))


main()
