# Discovery with python3-caldav (Debian) from the URL a user types: the
# bare host or the well-known URL. Prints the principal and calendars as
# JSON; the Go test judges them.
import json
import sys

import caldav

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
client = caldav.DAVClient(url=url, username=user, password=password)
principal = client.principal()
print(json.dumps({
    "principal": str(principal.url),
    "calendars": sorted(str(c.url) for c in principal.calendars()),
}))
