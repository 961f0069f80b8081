# Drives Roost with python3-caldav (Debian): principal discovery,
# make_calendar, events and todos, date_search over a recurring event,
# sync tokens. Prints one JSON object; the Go test judges it.
import json
import sys
from datetime import datetime, timezone

import caldav

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
client = caldav.DAVClient(url=url, username=user, password=password)
principal = client.principal()
out["principal"] = str(principal.url)
out["calendars"] = sorted(str(c.url) for c in principal.calendars())

cal = principal.make_calendar(name="Python Test", cal_id="pytest")
out["new_calendar"] = str(cal.url)

weekly = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//roost test//EN
BEGIN:VEVENT
UID:weekly-py
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=WEEKLY;COUNT=10
SUMMARY:Weekly
END:VEVENT
END:VCALENDAR
"""
single = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//roost test//EN
BEGIN:VEVENT
UID:single-py
DTSTAMP:20240101T000000Z
DTSTART:20240110T120000Z
DTEND:20240110T130000Z
SUMMARY:Single
END:VEVENT
END:VCALENDAR
"""
later = single.replace("single-py", "later-py").replace("20240110", "20240310")
todo = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//roost test//EN
BEGIN:VTODO
UID:todo-py
DTSTAMP:20240101T000000Z
DUE:20240120T000000Z
SUMMARY:Write tests
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
"""
cal.save_event(weekly)
cal.save_event(single)
cal.save_event(later)
cal.save_todo(todo)

found = cal.date_search(
    start=datetime(2024, 1, 8, tzinfo=timezone.utc),
    end=datetime(2024, 1, 22, tzinfo=timezone.utc),
    expand=True,
)
starts = []
for ev in found:
    for comp in ev.icalendar_instance.walk("VEVENT"):
        starts.append(comp["DTSTART"].dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + " " + str(comp["SUMMARY"]))
out["date_search"] = sorted(starts)
out["todos"] = sorted(str(t.icalendar_instance.walk("VTODO")[0]["SUMMARY"]) for t in cal.todos())
out["events"] = len(cal.events())

# Sync tokens.
coll = cal.objects_by_sync_token()
out["sync_initial"] = len(list(coll))
first_token = coll.sync_token
cal.save_event(single.replace("single-py", "new-py"))
cal.event_by_uid("later-py").delete()
updated, deleted = coll.sync()
out["sync_updated"] = sorted(str(o.url).rsplit("/", 1)[-1] for o in updated)
out["sync_deleted"] = sorted(str(o.url).rsplit("/", 1)[-1] for o in deleted)
out["token_moved"] = coll.sync_token != first_token
again = cal.objects_by_sync_token(sync_token=coll.sync_token)
out["sync_again"] = len(list(again))
print(json.dumps(out))
