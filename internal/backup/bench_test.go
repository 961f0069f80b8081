package backup_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// benchItems is the store size of BenchmarkBackup: ROOST_BENCH_BACKUP_ITEMS,
// default 20,000 (scripts/bench-backup.sh).
func benchItems() int {
	if n, err := strconv.Atoi(os.Getenv("ROOST_BENCH_BACKUP_ITEMS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// benchMessage is item i: mostly 2–8 KiB of text, every 100th a 100 KiB
// attachment-sized message (stored as a blob file), all distinct.
func benchMessage(i int) string {
	size := 2048 + (i*7919)%6144
	if i%100 == 0 {
		size = 100 << 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender%d@example.org\r\nTo: alice@acme.test\r\nSubject: bench %d\r\nMessage-ID: <bench.%d@example.org>\r\n\r\n", i%97, i, i)
	line := fmt.Sprintf("%d the quick brown fox jumps over the lazy dog\r\n", i)
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// BenchmarkBackup measures, on one store of benchItems() messages in
// five folders: a full backup, an incremental one after 1 % of the items
// changed (flags on half of them, the other half new messages), and a
// restore into an empty store. Figures are MB/s and items/s of content.
func BenchmarkBackup(b *testing.B) {
	n := benchItems()
	s := testenv.Open(b, testenv.Options{})
	s.Tenants(b, "acme")
	s.User(b, "acme", store.User{Login: "alice", Active: true}, "")
	ctx := testenv.As(b, s, "alice")
	st, err := s.UserStore(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	folders := []*store.Folder{testenv.Folder(b, ctx, s, "alice", store.SpecialInbox)}
	for i := 0; i < 4; i++ {
		f, err := s.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("Archive %d", 2022+i), store.FolderMail)
		if err != nil {
			b.Fatal(err)
		}
		folders = append(folders, f)
	}
	t0 := time.Now()
	var total int64
	for i := 0; i < n; i++ {
		m := benchMessage(i)
		total += int64(len(m))
		appendMsg(b, ctx, s, folders[i%len(folders)].ID, m, day0.Add(time.Duration(i)*time.Minute), `\Seen`)
	}
	b.Logf("store: %d items, %.1f MB, filled in %s (%s)", n, float64(total)/1e6, time.Since(t0).Round(time.Second), s.Backend)
	// The backup locations: a directory (default) and/or a bucket of a
	// real S3 server on loopback (versitygw, posix backend, on the same
	// disk): ROOST_BENCH_BACKUP_TARGETS=dir,s3.
	targets := strings.Split(os.Getenv("ROOST_BENCH_BACKUP_TARGETS"), ",")
	if targets[0] == "" {
		targets = []string{"dir"}
	}
	var srv *testenv.S3
	for _, target := range targets {
		var newLoc func() backup.Location
		switch target {
		case "dir":
			newLoc = func() backup.Location { return backup.Location{Path: b.TempDir()} }
		case "s3":
			if srv == nil {
				srv = testenv.StartS3(b)
			}
			newLoc = func() backup.Location {
				return backup.Location{Path: "s3://" + srv.Bucket(b) + "/bench", S3: backup.S3Config{Endpoint: srv.Endpoint,
					AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, NoTLS: true, TempDir: b.TempDir()}}
			}
		default:
			b.Fatalf("ROOST_BENCH_BACKUP_TARGETS: %q is not dir or s3", target)
		}
		b.Run(target, func(b *testing.B) { benchTarget(b, target, s, ctx, folders, n, newLoc) })
	}
}

// benchTarget runs the full, incremental and restore steps against the
// locations newLoc makes.
func benchTarget(b *testing.B, target string, s *testenv.Store, ctx context.Context, folders []*store.Folder, n int, newLoc func() backup.Location) {
	loc := newLoc()
	bg := context.Background()

	b.Run("full", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d := loc
			if i > 0 {
				d = newLoc()
			}
			t := time.Now()
			sum, err := backup.Run(bg, s, backup.Options{Dir: d.Path, S3: d.S3})
			if err != nil {
				b.Fatal(err)
			}
			el := time.Since(t).Seconds()
			b.ReportMetric(float64(sum.ObjectBytes)/1e6/el, "MB/s")
			b.ReportMetric(float64(sum.Items)/el, "items/s")
		}
	})
	b.Run("incremental-1pct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			changes := n / 100
			for k := 0; k < changes/2; k++ {
				f := folders[k%len(folders)]
				if _, err := s.UpdateFlags(ctx, f.ID, []uint32{uint32(1 + (k*37+i)%(n/len(folders)))}, store.FlagsAdd, []string{fmt.Sprintf("$b%d%s", i, target)}); err != nil {
					b.Fatal(err)
				}
			}
			for k := 0; k < changes-changes/2; k++ {
				appendMsg(b, ctx, s, folders[0].ID, benchMessage(n+i*changes+k+1)+target, day0)
			}
			b.StartTimer()
			t := time.Now()
			sum, err := backup.Run(bg, s, backup.Options{Dir: loc.Path, S3: loc.S3})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t).Seconds(), "s/incremental")
			b.ReportMetric(float64(sum.Stores[0].Items), "items-written")
		}
	})
	b.Run("restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dst := testenv.Open(b, testenv.Options{})
			dst.Tenants(b, "acme")
			dst.User(b, "acme", store.User{Login: "alice", Active: true}, "")
			b.StartTimer()
			t := time.Now()
			r, err := backup.Restore(bg, dst, backup.RestoreOptions{Dir: loc.Path, S3: loc.S3, Login: "alice"})
			if err != nil {
				b.Fatal(err)
			}
			el := time.Since(t).Seconds()
			b.ReportMetric(float64(r.Bytes)/1e6/el, "MB/s")
			b.ReportMetric(float64(r.Created)/el, "items/s")
		}
	})
}
