#!/usr/bin/env python3
"""A real SMTP server for the tests: aiosmtpd (Debian's python3-aiosmtpd), writing each message it accepts to a
directory as an .eml file, headed by what the server saw: envelope sender and recipients, TLS, and the login.

It supports plain SMTP, STARTTLS and implicit TLS, and AUTH PLAIN/LOGIN against one user. It prints "READY" when it
listens, and stops when its stdin closes, so it never outlives the test process that started it.
"""
import argparse
import os
import ssl
import sys
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        temporary = os.path.join(self.directory, name + ".tmp")
        login = session.login_data if session.authenticated else None
        user = login.decode() if isinstance(login, bytes) else (login or "")
        tls = bool(session.ssl) or server.transport.get_extra_info("ssl_object") is not None
        head = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-Tls: {'yes' if tls else 'no'}\r\n"
            f"X-Sink-Auth-User: {user}\r\n"
        )
        with open(temporary, "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        os.rename(temporary, os.path.join(self.directory, name + ".eml"))
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--mode", choices=["plain", "starttls", "ssl"], default="plain")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    kwargs = {}
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if args.user:
        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
            # handled=False: aiosmtpd then answers 535 itself; its default would leave the client waiting.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=args.mode != "plain")

    controller = Controller(Sink(args.dir), hostname=args.host, port=args.port, **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
