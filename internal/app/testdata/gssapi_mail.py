# SASL GSSAPI (RFC 4752) sign-in with MIT's libgssapi (python3-gssapi):
# IMAP through imaplib's AUTHENTICATE; POP3, SMTP submission and ManageSieve
# with raw AUTH exchanges. argv: imap|pop3|smtp|sieve port [authzid]. Prints one JSON object.
import base64, imaplib, json, socket, sys, gssapi

proto, port = sys.argv[1], int(sys.argv[2])
authz = sys.argv[3].encode() if len(sys.argv) > 3 else b""
svc = {"imap": "imap", "pop3": "pop", "smtp": "smtp", "sieve": "sieve"}[proto]
ctx = gssapi.SecurityContext(name=gssapi.Name(svc + "@localhost", gssapi.NameType.hostbased_service),
                             usage="initiate", flags=gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection)
state = {"layer": False}

def step(chal):
    if not ctx.complete:
        return ctx.step(chal or None) or b""
    if not chal:
        return b""
    msg = ctx.unwrap(chal).message
    if len(msg) != 4 or not (msg[0] & 1):
        raise SystemExit("bad layer offer %r" % msg)
    state["layer"] = True
    return ctx.wrap(b"\x01\x00\x00\x00" + authz, False).message

out = {"ok": False}
try:
    if proto == "imap":
        c = imaplib.IMAP4("localhost", port)
        out["caps"] = list(c.capabilities)
        try:
            typ, data = c.authenticate("GSSAPI", step)
            out["ok"] = typ == "OK"
            typ, data = c.select("INBOX")
            out["selected"] = typ == "OK"
        except imaplib.IMAP4.error as e:
            out["error"] = str(e)
        c.logout()
    elif proto == "smtp":
        s = socket.create_connection(("localhost", port))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO client.example\r\n")
        caps = []
        while True:
            line = f.readline().decode().rstrip()
            caps.append(line[4:])
            if line[3] == " ":
                break
        out["caps"] = caps
        s.sendall(b"AUTH GSSAPI\r\n")
        while True:
            line = f.readline().rstrip(b"\r\n")
            if line.startswith(b"235"):
                out["ok"] = True
                break
            if not line.startswith(b"334"):
                out["error"] = line.decode()
                break
            chal = base64.b64decode(line[4:]) if len(line) > 4 else b""
            s.sendall(base64.b64encode(step(chal)) + b"\r\n")
        s.sendall(b"QUIT\r\n")
    elif proto == "sieve":
        s = socket.create_connection(("localhost", port))
        f = s.makefile("rb")
        caps = []
        line = f.readline()
        while not line.startswith(b"OK"):
            caps.append(line.decode().strip())
            line = f.readline()
        out["caps"] = caps
        s.sendall(b'AUTHENTICATE "GSSAPI"\r\n')
        while True:
            line = f.readline().rstrip(b"\r\n")
            if line.startswith(b"OK"):
                out["ok"] = True
                break
            if line.startswith(b"NO") or line.startswith(b"BYE"):
                out["error"] = line.decode()
                break
            if line.startswith(b"{"):
                n = int(line[1:].rstrip(b"+}"))
                data = f.read(n)
                f.readline()
            else:
                data = line.strip(b'"')
            resp = base64.b64encode(step(base64.b64decode(data)))
            s.sendall(b"{%d+}\r\n" % len(resp) + resp + b"\r\n")
        s.sendall(b"LOGOUT\r\n")
    else:
        s = socket.create_connection(("localhost", port))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"CAPA\r\n")
        caps = []
        line = f.readline()
        while line.strip() != b".":
            caps.append(line.strip().decode())
            line = f.readline()
        out["caps"] = caps
        s.sendall(b"AUTH GSSAPI\r\n")
        while True:
            line = f.readline().rstrip(b"\r\n")
            if line.startswith(b"+OK"):
                out["ok"] = True
                break
            if line.startswith(b"-ERR"):
                out["error"] = line.decode()
                break
            chal = base64.b64decode(line[2:]) if len(line) > 2 else b""
            s.sendall(base64.b64encode(step(chal)) + b"\r\n")
        if out["ok"]:
            s.sendall(b"STAT\r\n")
            out["stat"] = f.readline().decode().strip()
        s.sendall(b"QUIT\r\n")
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
