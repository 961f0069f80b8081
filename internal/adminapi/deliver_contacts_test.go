package adminapi_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// outbox records what the delivery pipeline hands to the outbound queue
// (driven end to end, with the real queue, in cmd/roost's mail flow
// test).
type outbox struct {
	mu   sync.Mutex
	sent []string // "from|to,to|message"
}

func (o *outbox) Send(_ context.Context, from string, to []string, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, from+"|"+strings.Join(to, ",")+"|"+string(msg))
	return nil
}

func (o *outbox) all() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sent)
}

// Pipe delivery (POST /v1/deliver, `roost deliver`) to a group sends the
// message on to its contacts too (the envelope sender from ?from=, or
// the message's Return-Path), and a group of contacts only is a
// recipient whose answer lists them.
func TestDeliverGroupContacts(t *testing.T) {
	t.Parallel()
	ob := &outbox{}
	e := newEnv(t, func(o *adminapi.Options, e *env) {
		o.Deliverer = &mail.Deliverer{Store: e.b, Log: testenv.Logger(t), Outbound: ob}
	})
	e.fixture()
	for _, c := range []string{"ann@partner.example", "sam@supplier.example"} {
		e.call("POST", "/v1/contacts", map[string]any{"email": c, "tenant": "acme"}, 201, nil)
	}
	e.call("POST", "/v1/groups", adminapi.GroupCreate{Name: "project", Tenant: "acme", Email: "project@acme.test"}, 201, nil)
	e.call("PUT", "/v1/groups/project/members/alice", nil, 200, nil)
	e.call("PUT", "/v1/groups/project/contacts/ann@partner.example", nil, 200, nil)
	e.call("POST", "/v1/groups", adminapi.GroupCreate{Name: "outside", Tenant: "acme", Email: "outside@acme.test"}, 201, nil)
	e.call("PUT", "/v1/groups/outside/contacts/sam@supplier.example", nil, 200, nil)

	msg := "Return-Path: <boss@example.test>\r\nFrom: boss@example.test\r\nSubject: hi\r\n\r\nHello\r\n"
	var d adminapi.Delivery
	e.call("POST", "/v1/deliver?rcpt=project@acme.test", msg, 201, &d)
	if d.User != "alice" || d.UID == 0 || !slices.Equal(d.Forwarded, []string{"ann@partner.example"}) {
		t.Fatalf("delivery to the group %+v", d)
	}
	d = adminapi.Delivery{}
	e.call("POST", "/v1/deliver?rcpt=outside@acme.test&from=list@example.test", msg, 201, &d)
	if d.User != "" || !slices.Equal(d.Forwarded, []string{"sam@supplier.example"}) {
		t.Fatalf("delivery to a group of contacts only %+v", d)
	}
	sent := ob.all()
	if len(sent) != 2 || !strings.HasPrefix(sent[0], "boss@example.test|ann@partner.example|Delivered-To: project@acme.test\r\nReturn-Path:") ||
		!strings.HasPrefix(sent[1], "list@example.test|sam@supplier.example|Delivered-To: outside@acme.test\r\n") {
		t.Fatalf("sent out %q", sent)
	}
	// A message that went through the group already is delivered to its
	// users but not sent out again, and the answer does not say it was.
	d = adminapi.Delivery{}
	e.call("POST", "/v1/deliver?rcpt=project@acme.test", "Delivered-To: project@acme.test\r\n"+msg, 201, &d)
	if d.User != "alice" || len(d.Forwarded) != 0 {
		t.Fatalf("looping delivery %+v", d)
	}
	d = adminapi.Delivery{}
	e.call("POST", "/v1/deliver?rcpt=outside@acme.test", "Delivered-To: outside@acme.test\r\n"+msg, 201, &d)
	if d.User != "" || len(d.Forwarded) != 0 || len(ob.all()) != 2 {
		t.Fatalf("looping delivery to contacts only %+v (%d sent)", d, len(ob.all()))
	}
	// A group without members of either kind is no recipient.
	if _, err := e.b.CreateGroup(store.SystemContext(context.Background()), "acme", store.Group{Name: "empty", Email: "empty@acme.test"}); err != nil {
		t.Fatal(err)
	}
	e.wantErr("", "POST", "/v1/deliver?rcpt=empty@acme.test", msg, 404, "no members")
}
