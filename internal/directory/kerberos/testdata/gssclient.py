# A SASL GSSAPI client (RFC 4752) with MIT's libgssapi through python3-gssapi,
# speaking base64 lines on stdin/stdout: it prints each response, reads each
# challenge. argv: service host [authzid] [nomutual]
import base64, sys, gssapi

svc, host = sys.argv[1], sys.argv[2]
authz = sys.argv[3].encode() if len(sys.argv) > 3 else b""
flags = gssapi.RequirementFlag.out_of_sequence_detection
if "nomutual" not in sys.argv[4:]:
    flags |= gssapi.RequirementFlag.mutual_authentication
name = gssapi.Name(svc + "@" + host, gssapi.NameType.hostbased_service)
ctx = gssapi.SecurityContext(name=name, usage="initiate", flags=flags)

def send(b):
    print(base64.b64encode(b or b"").decode(), flush=True)

def recv():
    line = sys.stdin.readline()
    if not line:
        sys.exit(3)
    return base64.b64decode(line.strip())

send(ctx.step(None))
while not ctx.complete:
    send(ctx.step(recv()))
chal = recv()
msg = ctx.unwrap(chal).message
if len(msg) != 4 or not (msg[0] & 1):
    sys.exit("bad layer offer %r" % msg)
send(ctx.wrap(b"\x01\x00\x00\x00" + authz, False).message)
