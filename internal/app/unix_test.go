package app

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory/unix"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestUnixWiring runs the composed server with user_plugin = unix over
// test-made passwd/shadow/group files: IMAP LOGIN is checked against the
// shadow hash, a nologin account is refused, and the admin API's
// directory sync reads the files (with the rename of an account).
func TestUnixWiring(t *testing.T) {
	out, err := exec.Command("openssl", "passwd", "-6", "ann-pw").Output()
	if err != nil {
		t.Skipf("openssl: %v", err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "ann:x:1000:1000:Ann:/home/ann:/bin/bash\nroom:x:1001:1001:Room:/:/usr/sbin/nologin\n")
	write("shadow", "ann:"+strings.TrimSpace(string(out))+":19000:0:99999:7:::\nroom:"+strings.TrimSpace(string(out))+":19000::::::\n")
	write("group", "team:x:1500:ann,room\n")
	imapAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nallow_plaintext_auth = true\nuser_plugin = \"unix\"\n"+
		"unix_passwd_file = %q\nunix_shadow_file = %q\nunix_group_file = %q\nunix_default_domain = \"example.org\"\nunix_tenant = \"example\"\n",
		imapAddr, filepath.Join(dir, "passwd"), filepath.Join(dir, "shadow"), filepath.Join(dir, "group")))
	waitFor(t, "imap listener", func() bool {
		c, err := net.Dial("tcp", imapAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	login := func(user, pw string) string {
		t.Helper()
		c, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		r.ReadString('\n')
		return imapLine(t, c, r, fmt.Sprintf("LOGIN %q %q", user, pw))
	}
	if got := login("ann", "ann-pw"); !strings.HasPrefix(got, "t OK") {
		t.Fatalf("LOGIN ann: %s", got)
	}
	if got := login("ann", "wrong"); !strings.Contains(got, "NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("LOGIN with a wrong password: %s", got)
	}
	if got := login("room", "ann-pw"); !strings.HasPrefix(got, "t NO") {
		t.Fatalf("LOGIN of a nologin account: %s", got)
	}
	write("passwd", "anna:x:1000:1000:Ann:/home/ann:/bin/bash\nroom:x:1001:1001:Room:/:/usr/sbin/nologin\n")
	body := adminCall(t, c, "POST", "/v1/directory/sync", "{}", 200)
	if !strings.Contains(body, `"renamed":1`) || !strings.Contains(body, `"groups_created":1`) {
		t.Fatalf("sync reply: %s", body)
	}
	users := adminCall(t, c, "GET", "/v1/users", "", 200)
	if !strings.Contains(users, `"anna"`) || strings.Contains(users, `"ann"`) {
		t.Fatalf("users after the rename: %s", users)
	}
}

// TestDirectorySyncJob: the periodic sync of ldap_sync_interval runs on
// its own (here every 20 ms over the real Unix backend) until stopped.
func TestDirectorySyncJob(t *testing.T) {
	db := testenv.Open(t, testenv.Options{})
	dir := t.TempDir()
	pw, sh := filepath.Join(dir, "passwd"), filepath.Join(dir, "shadow")
	os.WriteFile(pw, []byte("ann:x:1000:1000:Ann:/home/ann:/bin/bash\n"), 0o600)
	os.WriteFile(sh, []byte("ann:!:19000::::::\n"), 0o600)
	d, err := unix.New(unix.Config{Passwd: pw, Shadow: sh, MinUID: 1000, MaxUID: 2000, Domain: "example.org", Tenant: "example"}, db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{log: slog.New(slog.DiscardHandler), syncDir: d}
	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.directorySyncJob(ctx, 20*time.Millisecond)
	waitFor(t, "the first periodic sync", func() bool {
		_, err := db.GetUser(store.SystemContext(context.Background()), "ann")
		return err == nil
	})
	os.WriteFile(pw, []byte("anna:x:1000:1000:Ann:/home/ann:/bin/bash\n"), 0o600)
	waitFor(t, "the rename by a later sync", func() bool {
		_, err := db.GetUser(store.SystemContext(context.Background()), "anna")
		return err == nil
	})
	cancel()
	s.wg.Wait()
}
