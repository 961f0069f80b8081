package easserver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// The black-box harness: the real handler on an httptest server bound to
// 127.0.0.1, over a real store; requests are encoded by libwbxml's
// xml2wbxml and every answer is decoded by libwbxml's wbxml2xml as well
// as by Roost's decoder.

type env struct {
	h     *easserver.Server // the handler
	t     testing.TB
	db    *testenv.Store
	hub   *events.Hub
	url   string
	mu    sync.Mutex
	wiped []string
}

func newEnv(t testing.TB, opts ...func(*easserver.Options)) *env {
	t.Helper()
	return newEnvOn(t, "", opts...)
}

// newEnvOn is newEnv on a testenv backend ("": the default).
func newEnvOn(t testing.TB, backend string, opts ...func(*easserver.Options)) *env {
	t.Helper()
	testenv.NeedLibwbxml(t)
	hub := events.NewHub()
	db := testenv.Open(t, testenv.Options{Backend: backend, OnChange: hub.Publish})
	db.Tenants(t, "acme", "globex")
	db.User(t, "acme", store.User{Login: "alice", Active: true, FullName: "Alice Liddell"}, "pw-alice")
	db.User(t, "acme", store.User{Login: "bob", Active: true}, "pw-bob")
	db.User(t, "globex", store.User{Login: "eve", Active: true}, "pw-eve")
	e := &env{t: t, db: db, hub: hub}
	o := easserver.Options{Store: db, Hub: hub, Logger: testenv.Logger(t), Authenticate: testenv.Authenticator(db, false),
		MinHeartbeat: 1, Submitter: newQueue(db),
		OnWipe: func(ctx context.Context, login, dev, state string) {
			e.mu.Lock()
			e.wiped = append(e.wiped, login+"/"+dev+"/"+state)
			e.mu.Unlock()
		}}
	for _, f := range opts {
		f(&o)
	}
	e.h = easserver.New(o)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// newQueue is the real outbound queue with local delivery, as the app
// wires it.
func newQueue(b store.Backend) *queue.Queue {
	d := &mail.Deliverer{Store: b}
	local := func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
		errs := make([]error, len(rcpts))
		for i, r := range rcpts {
			users, err := b.Recipients(store.SystemContext(ctx), r)
			if err != nil {
				errs[i] = err
				continue
			}
			for _, res := range d.DeliverMessage(ctx, from, []mail.Recipient{{Addr: r, Users: users}}, open) {
				if res.Err != nil {
					errs[i] = res.Err
				}
			}
		}
		return errs
	}
	return queue.New(queue.Options{Store: b, Hostname: "mx.acme.test", Local: local,
		RetryBase: time.Minute, RetryMax: 10 * time.Minute, Lifetime: time.Hour})
}

func (e *env) as(login string) context.Context { return testenv.As(e.t, e.db, login) }

func (e *env) folder(login, role string) *store.Folder {
	return testenv.Folder(e.t, e.as(login), e.db, login, role)
}

// deliver puts a message in a user's folder through the delivery
// pipeline's store call.
func (e *env) deliver(login, role, msg string, flags ...string) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(e.as(login), e.folder(login, role).ID, store.NewItem{
		Content: strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), Flags: flags,
		InternalDate: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// device is a simulated phone.
type device struct {
	e       *env
	login   string
	pw      string
	id      string
	typ     string
	version string
	key     uint32
	// query: "base64" sends the base64-encoded request line.
	query string
}

func (e *env) device(login, id string) *device {
	return &device{e: e, login: login, pw: "pw-" + login, id: id, typ: "iPhone", version: "14.1"}
}

type reply struct {
	code int
	hdr  http.Header
	raw  []byte
	xml  string      // libwbxml's reading
	n    *wbxml.Node // Roost's reading
}

// status is the text of the first Status element found depth-first.
func (r reply) status() string {
	var find func(n *wbxml.Node) string
	find = func(n *wbxml.Node) string {
		if n == nil {
			return ""
		}
		if n.Name == "Status" {
			return n.Content()
		}
		for _, c := range n.Children {
			if s := find(c); s != "" {
				return s
			}
		}
		return ""
	}
	return find(r.n)
}

// post sends a command with a raw body.
func (d *device) post(cmd string, body []byte, hdr ...string) reply {
	d.e.t.Helper()
	q := "Cmd=" + cmd + "&User=" + d.login + "&DeviceId=" + d.id + "&DeviceType=" + d.typ
	if d.query == "base64" {
		q = eas.EncodeBase64Query(eas.Request{Cmd: cmd, User: d.login, DeviceID: d.id, DeviceType: d.typ, Version: d.version,
			PolicyKey: d.key, HasPolicyKey: d.key != 0})
	}
	req, err := http.NewRequest("POST", d.e.url+easserver.Path+"?"+q, bytes.NewReader(body))
	if err != nil {
		d.e.t.Fatal(err)
	}
	req.SetBasicAuth(d.login, d.pw)
	req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
	req.Header.Set("User-Agent", "Apple-iPhone/1402.100")
	if d.query != "base64" {
		req.Header.Set("MS-ASProtocolVersion", d.version)
		if d.key != 0 {
			req.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(d.key), 10))
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		d.e.t.Fatal(err)
	}
	r := reply{code: resp.StatusCode, hdr: resp.Header, raw: raw}
	if len(raw) > 0 && resp.Header.Get("Content-Type") == "application/vnd.ms-sync.wbxml" {
		// libwbxml 0.11.8 has no Find code page: Find answers are checked
		// by Roost's decoder alone.
		if cmd != "Find" {
			r.xml = testenv.WBXML2XML(d.e.t, raw)
		}
		if r.n, err = eas.Decode(raw, wbxml.Limits{MaxBytes: 64 << 20, MaxString: 64 << 20}); err != nil {
			d.e.t.Fatalf("Roost cannot read its own answer: %v", err)
		}
	}
	return r
}

// do sends an XML command document, encoded by libwbxml.
func (d *device) do(cmd, doc string) reply {
	d.e.t.Helper()
	var body []byte
	if doc != "" {
		body = testenv.XML2WBXML(d.e.t, doc)
	}
	return d.post(cmd, body)
}

// provision runs both Provision phases and keeps the final key.
func (d *device) provision() {
	t := d.e.t
	t.Helper()
	r := d.do("Provision", `<Provision xmlns="Provision:" xmlns:settings="Settings:"><settings:DeviceInformation><settings:Set>`+
		`<settings:Model>iPhone15,2</settings:Model><settings:OS>iOS 17.4</settings:OS><settings:FriendlyName>Alice's phone</settings:FriendlyName>`+
		`</settings:Set></settings:DeviceInformation><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`)
	pol := r.n.Child("Policies").Child("Policy")
	if r.code != 200 || pol.ChildText("Status") != "1" || pol.Child("Data").Child("EASProvisionDoc") == nil {
		t.Fatalf("provision phase 1: %d %s", r.code, r.xml)
	}
	temp := pol.ChildText("PolicyKey")
	r = d.do("Provision", `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>`+
		`<PolicyKey>`+temp+`</PolicyKey><Status>1</Status></Policy></Policies></Provision>`)
	final := r.n.Child("Policies").Child("Policy").ChildText("PolicyKey")
	k, err := strconv.ParseUint(final, 10, 32)
	if err != nil || final == temp || k == 0 {
		t.Fatalf("provision phase 2: %s", r.xml)
	}
	d.key = uint32(k)
}

// folderSync returns the FolderSync answer for key.
func (d *device) folderSync(key string) reply {
	return d.do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey></FolderSync>`)
}

// sync runs a one-collection Sync.
func (d *device) sync(coll, key, inner string) reply {
	return d.do("Sync", `<Sync xmlns="AirSync:" xmlns:airsyncbase="AirSyncBase:" xmlns:email="Email:"><Collections><Collection>`+
		`<SyncKey>`+key+`</SyncKey><CollectionId>`+coll+`</CollectionId>`+inner+`</Collection></Collections></Sync>`)
}

func collection(r reply) *wbxml.Node {
	return r.n.Child("Collections").Child("Collection")
}

func id(f *store.Folder) string { return strconv.FormatInt(f.ID, 10) }
