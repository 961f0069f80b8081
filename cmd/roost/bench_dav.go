package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// runBenchDAV is `roost bench caldav`: against any CalDAV server (Roost or
// a peer such as Radicale) it fills a calendar collection with events (a
// tenth of them weekly recurring), then times calendar-query REPORTs over a
// one-week time range, and a sync-collection REPORT after 100 changes.
func runBenchDAV(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench caldav", flag.ContinueOnError)
	fl.SetOutput(stderr)
	url := fl.String("url", "", "calendar collection URL, ending in / (created with MKCALENDAR if missing)")
	user := fl.String("user", "bench0", "login")
	password := fl.String("password", "bench", "password")
	events := fl.Int("events", 10000, "events to put into the calendar first")
	queries := fl.Int("queries", 20, "calendar-query REPORTs to time")
	parallel := fl.Int("parallel", 4, "parallel PUTs while filling")
	fill := fl.Bool("fill", true, "PUT the events first (false: the calendar was filled another way, e.g. --print-events)")
	print := fl.Bool("print-events", false, "print the events as one iCalendar object per line of JSON {name, ics} and exit")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *print {
		enc := json.NewEncoder(stdout)
		for i := 0; i < *events; i++ {
			enc.Encode(map[string]string{"name": fmt.Sprintf("ev%d.ics", i), "ics": benchEvent(i, 0)})
		}
		return 0
	}
	if !strings.HasSuffix(*url, "/") || *events < 1 || *events > 200000 || *queries < 1 || *parallel < 1 || *parallel > 64 {
		fmt.Fprintln(stderr, "roost bench caldav: --url must end in /, --events 1..200000, --queries ≥ 1, --parallel 1..64")
		return 2
	}
	c := &davClient{url: *url, user: *user, password: *password, hc: &http.Client{Timeout: 5 * time.Minute}}
	if code, _, err := c.do(ctx, "PROPFIND", "", map[string]string{"Depth": "0"}, ""); err != nil || code == 404 {
		if code, body, err := c.do(ctx, "MKCALENDAR", "", nil, ""); err != nil || code/100 != 2 {
			fmt.Fprintf(stderr, "roost bench caldav: MKCALENDAR %s: %d %v %s\n", *url, code, err, body)
			return 1
		}
	}
	if *fill {
		if code := c.fill(ctx, *events, *parallel, stdout, stderr); code != 0 {
			return code
		}
	}
	return c.measure(ctx, *events, *queries, stdout, stderr)
}

// fill PUTs the bench events.
func (c *davClient) fill(ctx context.Context, events, parallel int, stdout, stderr io.Writer) int {
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fillErr error
	next := make(chan int)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				code, body, err := c.do(ctx, "PUT", fmt.Sprintf("ev%d.ics", i), map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, benchEvent(i, 0))
				if err == nil && code/100 != 2 {
					err = fmt.Errorf("PUT ev%d.ics: %d %s", i, code, body)
				}
				if err != nil {
					mu.Lock()
					fillErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < events && ctx.Err() == nil; i++ {
		mu.Lock()
		bad := fillErr
		mu.Unlock()
		if bad != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if fillErr != nil {
		fmt.Fprintf(stderr, "roost bench caldav: %v\n", fillErr)
		return 1
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "roost bench caldav: %s, %d events put in %s (%.0f/s)\n", c.url, events, took.Round(time.Millisecond), float64(events)/took.Seconds())
	return 0
}

// measure times calendar-query and sync-collection REPORTs.
func (c *davClient) measure(ctx context.Context, events, queries int, stdout, stderr io.Writer) int {
	// One untimed query warms caches (Radicale builds its item cache).
	c.do(ctx, "REPORT", "", map[string]string{"Depth": "1", "Content-Type": "application/xml"},
		fmt.Sprintf(calendarQuery, "20260301T000000Z", "20260302T000000Z"))

	// calendar-query over one week in the middle of the data.
	var lat []time.Duration
	hits := 0
	for q := 0; q < queries; q++ {
		from := benchBase.AddDate(0, 0, 7*(q%20)+30)
		body := fmt.Sprintf(calendarQuery, from.Format("20060102T150405Z"), from.AddDate(0, 0, 7).Format("20060102T150405Z"))
		t0 := time.Now()
		code, resp, err := c.do(ctx, "REPORT", "", map[string]string{"Depth": "1", "Content-Type": "application/xml"}, body)
		if err != nil || code != 207 {
			fmt.Fprintf(stderr, "roost bench caldav: calendar-query: %d %v %.200s\n", code, err, resp)
			return 1
		}
		lat = append(lat, time.Since(t0))
		hits = len(hrefRE.FindAllString(resp, -1))
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "%-16s %6s %9s %9s %9s %9s\n", "op", "count", "mean", "p50", "p95", "hits")
	fmt.Fprintf(stdout, "%-16s %6d %9s %9s %9s %9d\n", "calendar-query", len(lat), mean(lat), pct(lat, 50), pct(lat, 95), hits)

	// sync-collection after 100 changes.
	code, resp, err := c.do(ctx, "REPORT", "", map[string]string{"Depth": "1", "Content-Type": "application/xml"},
		`<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
	if err != nil || code != 207 {
		fmt.Fprintf(stderr, "roost bench caldav: initial sync-collection: %d %v %.200s\n", code, err, resp)
		return 1
	}
	token := syncToken(resp)
	if token == "" {
		fmt.Fprintf(stderr, "roost bench caldav: no sync-token in %.300s\n", resp)
		return 1
	}
	for i := 0; i < 100; i++ {
		if code, body, err := c.do(ctx, "PUT", fmt.Sprintf("ev%d.ics", i*(events/100)), map[string]string{"Content-Type": "text/calendar; charset=utf-8"},
			benchEvent(i*(events/100), 1)); err != nil || code/100 != 2 {
			fmt.Fprintf(stderr, "roost bench caldav: change %d: %d %v %s\n", i, code, err, body)
			return 1
		}
	}
	var slat []time.Duration
	changed := 0
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		code, resp, err = c.do(ctx, "REPORT", "", map[string]string{"Depth": "1", "Content-Type": "application/xml"},
			`<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>`+token+`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
		if err != nil || code != 207 {
			fmt.Fprintf(stderr, "roost bench caldav: sync-collection: %d %v %.200s\n", code, err, resp)
			return 1
		}
		slat = append(slat, time.Since(t0))
		changed = len(hrefRE.FindAllString(resp, -1))
	}
	slices.Sort(slat)
	fmt.Fprintf(stdout, "%-16s %6d %9s %9s %9s %9d\n", "sync-collection", len(slat), mean(slat), pct(slat, 50), pct(slat, 95), changed)
	return 0
}

var benchBase = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// benchEvent is event i: one hour, spread over about a year (every tenth
// a weekly series of 20).
func benchEvent(i, rev int) string {
	start := benchBase.Add(time.Duration(i%8760) * time.Hour)
	rrule := ""
	if i%10 == 0 {
		rrule = "RRULE:FREQ=WEEKLY;COUNT=20\r\n"
	}
	return fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Roost//bench//EN\r\nBEGIN:VEVENT\r\nUID:bench-%d@bench.test\r\n"+
		"DTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDURATION:PT1H\r\n%sSUMMARY:Bench event %d rev %d\r\n"+
		"DESCRIPTION:A meeting to benchmark calendar queries.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		i, start.Format("20060102T150405Z"), rrule, i, rev)
}

const calendarQuery = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="%s" end="%s"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`

// hrefRE finds the resources of the bench in a multistatus.
var hrefRE = regexp.MustCompile(`ev\d+\.ics<`)

var tokenRE = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?sync-token>([^<]+)</`)

func syncToken(resp string) string {
	m := tokenRE.FindStringSubmatch(resp)
	if m == nil {
		return ""
	}
	return m[1]
}

func mean(v []time.Duration) string {
	if len(v) == 0 {
		return "-"
	}
	var t time.Duration
	for _, d := range v {
		t += d
	}
	return (t / time.Duration(len(v))).Round(10 * time.Microsecond).String()
}

type davClient struct {
	url, user, password string
	hc                  *http.Client
}

func (c *davClient) do(ctx context.Context, method, name string, hdr map[string]string, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url+name, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(c.user, c.password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, string(b), err
}
