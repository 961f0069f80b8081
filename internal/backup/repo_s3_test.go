package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestS3ObjectIndex: past s3HeadLookups look-ups the S3 repo answers
// from one listing of the objects, which must agree with the HEADs:
// stored objects found (with their size), others not, and objects
// written after the listing found too.
func TestS3ObjectIndex(t *testing.T) {
	srv := testenv.StartS3(t)
	r, err := openS3Repo(t.Context(), "s3://"+srv.Bucket(t)+"/p", S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, NoTLS: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	put := func(s string) string {
		t.Helper()
		h, n, wrote, err := r.putObject(t.Context(), strings.NewReader(s))
		if err != nil || n != int64(len(s)) || !wrote {
			t.Fatalf("put %q: %s %d %v %v", s, h, n, wrote, err)
		}
		return h
	}
	hashOf := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	var stored []string
	for i := range 3 {
		stored = append(stored, put(fmt.Sprintf("object %d", i)))
	}
	// Uploads run in the background: flush waits for them; forgetting
	// what was queued makes the look-ups ask the object store.
	if err := r.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.queued = nil
	check := func(when string) {
		t.Helper()
		for _, h := range stored {
			if ok, err := r.hasObject(t.Context(), h, 8); !ok || err != nil {
				t.Errorf("%s: stored object %s not found: %v", when, h, err)
			}
			if ok, _ := r.hasObject(t.Context(), h, 9); ok {
				t.Errorf("%s: object %s found with the wrong size", when, h)
			}
		}
		if ok, _ := r.hasObject(t.Context(), hashOf("nothing"), 7); ok {
			t.Errorf("%s: a missing object was found", when)
		}
	}
	check("by HEAD")
	if r.index != nil {
		t.Fatal("listed after a few look-ups")
	}
	for i := 0; i < s3HeadLookups; i++ {
		r.hasObject(t.Context(), hashOf(fmt.Sprint(i)), 1)
	}
	check("listed")
	if len(r.index) != 3 {
		// (object 3 is put below, after the listing)
		t.Fatalf("index holds %d objects, want 3", len(r.index))
	}
	stored = append(stored, put("object 3"))
	if _, _, wrote, err := r.putObject(t.Context(), strings.NewReader("object 3")); wrote || err != nil {
		t.Errorf("the same content put again while queued: wrote %v, %v", wrote, err)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	r.queued = nil
	check("after a put")
}
