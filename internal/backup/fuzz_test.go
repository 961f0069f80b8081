package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadStore feeds arbitrary store files (with a manifest whose
// checksums match, so the parser is reached) and arbitrary manifests to
// the reader: a damaged or hostile backup directory must give an error
// or records, never a panic or unbounded work.
func FuzzLoadStore(f *testing.F) {
	f.Add([]byte(`{"t":"folder","id":1,"name":"INBOX","type":"mail","special":"inbox","uidvalidity":7}
{"t":"props","props":{"oof":"{}"}}
{"t":"item","id":5,"folder":1,"uid":1,"flags":["\\Seen"],"date":"2026-03-01T09:00:00Z","size":3,"hash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
{"t":"gone","id":9}
`), []byte(nil))
	f.Add([]byte("{\"t\":\"item\"\n"), []byte(`{"format":"roost-backup/1","run":1,"stores":[{"login":"a","file":"../x","sha256":"00"}]}`))
	f.Add([]byte{}, []byte(`{"format":"roost-backup/1","run":1,"stores":[{"login":"a","file":"1.jsonl","parent":5}]}`))
	f.Fuzz(func(t *testing.T, store, manifest []byte) {
		dir := t.TempDir()
		rd := filepath.Join(dir, filepath.FromSlash(runName(1)))
		if err := os.MkdirAll(rd, 0o700); err != nil {
			t.Fatal(err)
		}
		if len(manifest) == 0 {
			sum := sha256.Sum256(store)
			m := Manifest{Format: FormatVersion, Run: 1, Stores: []StoreEntry{{Login: "a", File: "1.jsonl", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(store))}}}
			manifest, _ = json.Marshal(m)
		}
		os.WriteFile(filepath.Join(rd, "1.jsonl"), store, 0o600)
		os.WriteFile(filepath.Join(rd, "manifest.json"), manifest, 0o600)
		ms := sha256.Sum256(manifest)
		os.WriteFile(filepath.Join(rd, "manifest.sha256"), []byte(hex.EncodeToString(ms[:])), 0o600)
		st, err := loadStore(t.Context(), &dirRepo{dir: dir}, "a", 0)
		if err != nil {
			return
		}
		for _, r := range st.Items {
			if !validHash(r.Hash) {
				t.Fatalf("an item without a valid hash was accepted: %+v", r)
			}
		}
	})
}

// FuzzParseS3: whatever location a request names, an accepted one has a
// valid bucket name and a prefix that is empty or ends in "/", with no
// empty, "." or ".." part (keys stay under it).
func FuzzParseS3(f *testing.F) {
	for _, s := range []string{"s3://bucket/prefix", "s3://b.b-b/a/b/", "s3://bucket", "s3://bucket/../x", "s3://BUCKET/x", "s3:///x", "s3://bucket//x", "/dir"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		bucket, prefix, err := ParseS3(loc)
		if err != nil {
			return
		}
		if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
			t.Fatalf("%q: bucket %q accepted", loc, bucket)
		}
		if prefix == "" {
			return
		}
		if !strings.HasSuffix(prefix, "/") || strings.HasPrefix(prefix, "/") {
			t.Fatalf("%q: prefix %q", loc, prefix)
		}
		for _, p := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
			if p == "" || p == "." || p == ".." {
				t.Fatalf("%q: prefix %q has part %q", loc, prefix, p)
			}
		}
	})
}
