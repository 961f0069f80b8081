package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// The users of one delivery are served concurrently, but no more than 32
// at once (deliver.go, maxParallelUsers): a message to a group of 40 keeps
// at most 32 hooks running, and every user gets the message.
func TestDeliveryUsersConcurrentBounded(t *testing.T) {
	t.Parallel()
	const users, bound = 40, 32
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	var us []*store.User
	for i := range users {
		us = append(us, s.User(t, "acme", store.User{Login: fmt.Sprintf("u%d", i), Active: true}, ""))
	}
	// Each hook call waits until no other call has arrived for a while, so
	// the calls in flight together are those the delivery lets run at once.
	var mu sync.Mutex
	var inFlight, most int
	last := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		last = time.Now()
		mu.Unlock()
		for {
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			quiet := time.Since(last) > 300*time.Millisecond
			mu.Unlock()
			if quiet {
				break
			}
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	d := &mail.Deliverer{Store: s.DB, Log: testenv.Logger(t), Hostname: "mx.acme.test",
		Hooks: []mail.Hook{{Name: "slow", URL: srv.URL, Timeout: time.Minute}}}
	msg := []byte("From: s@example.org\r\nSubject: all\r\n\r\nhello\r\n")
	res := d.DeliverMessage(context.Background(), "s@example.org", []mail.Recipient{{Addr: "all@acme.test", Users: us}},
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(msg)), nil })
	if len(res) != users {
		t.Fatalf("%d results, want %d", len(res), users)
	}
	for i, r := range res {
		if r.Err != nil || r.User.ID != us[i].ID {
			t.Errorf("result %d: user %v, err %v", i, r.User.Login, r.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most > bound || most < 2 {
		t.Fatalf("%d hooks ran at once; want between 2 and %d", most, bound)
	}
}
