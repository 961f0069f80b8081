package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestActiveSyncContactsVdirsyncer: a contact made over CardDAV reaches
// "the phone" over ActiveSync; the phone edits it and adds another; a
// vdirsyncer sync brings both edits down, and a card vdirsyncer uploads
// reaches the phone — against a real `roost serve`.
func TestActiveSyncContactsVdirsyncer(t *testing.T) {
	testenv.NeedLibwbxml(t)
	vds, err := exec.LookPath("vdirsyncer")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("vdirsyncer not installed")
		}
		t.Skip("vdirsyncer not installed")
	}
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	httpAddr := freeAddr(t)
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.Replace(string(text), `http_listen = "off"`, fmt.Sprintf("http_listen = %q", httpAddr), 1))
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, bin, cfg, dir)
	admin := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
	}
	admin("", "domain", "add", "acme.test")
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--password-stdin")
	base := "http://" + httpAddr

	// A card over CardDAV.
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carol-1\r\nFN:Carol Jones\r\nN:Jones;Carol;;;\r\nTEL;TYPE=cell:+1 555 0100\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n"
	// Find the address book through vdirsyncer's own discovery, below;
	// PUT into the default one by its name from PROPFIND.
	vdir := filepath.Join(dir, "vds")
	local := filepath.Join(vdir, "ab")
	os.MkdirAll(filepath.Join(vdir, "status"), 0o700)
	os.MkdirAll(local, 0o700)
	vcfg := filepath.Join(vdir, "config")
	os.WriteFile(vcfg, []byte(fmt.Sprintf(`[general]
status_path = "%s/status/"

[pair ab]
a = "ab_local"
b = "ab_remote"
collections = ["from b"]
conflict_resolution = "b wins"

[storage ab_local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"

[storage ab_remote]
type = "carddav"
url = "%s/dav/"
username = "alice"
password = "alice-pw"
`, vdir, local, base)), 0o600)
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vds, append([]string{"-c", vcfg}, args...)...)
		cmd.Stdin = strings.NewReader("y\ny\ny\n")
		cmd.Env = append(cmd.Environ(), "HOME="+vdir, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %v: %v\n%s", args, err, out)
		}
	}
	run("discover")
	es, _ := os.ReadDir(local)
	if len(es) != 1 {
		t.Fatalf("discovered collections: %v", es)
	}
	abName := es[0].Name()
	abDir := filepath.Join(local, abName)
	if err := os.WriteFile(filepath.Join(abDir, "carol-1.vcf"), []byte(card), 0o600); err != nil {
		t.Fatal(err)
	}
	run("sync") // the card goes up over CardDAV

	var policyKey string
	post := func(cmd, doc string) (string, *wbxml.Node) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/Microsoft-Server-ActiveSync?Cmd="+cmd+"&User=alice&DeviceId=CARDPHONE&DeviceType=Android", bytes.NewReader(testenv.XML2WBXML(t, doc)))
		req.SetBasicAuth("alice", "alice-pw")
		req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
		req.Header.Set("MS-ASProtocolVersion", "16.1")
		if policyKey != "" {
			req.Header.Set("X-MS-PolicyKey", policyKey)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if len(raw) == 0 {
			return "", nil
		}
		n, err := eas.Decode(raw, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return testenv.WBXML2XML(t, raw), n
	}
	prov := `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>%s</Policy></Policies></Provision>`
	_, n := post("Provision", fmt.Sprintf(prov, ""))
	_, n = post("Provision", fmt.Sprintf(prov, "<PolicyKey>"+n.Child("Policies").Child("Policy").ChildText("PolicyKey")+"</PolicyKey><Status>1</Status>"))
	policyKey = n.Child("Policies").Child("Policy").ChildText("PolicyKey")
	x, n := post("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`)
	var coll string
	for _, a := range n.Child("Changes").All("Add") {
		if a.ChildText("Type") == "9" {
			coll = a.ChildText("ServerId")
		}
	}
	if coll == "" {
		t.Fatalf("no address book: %s", x)
	}
	sync := func(key, cmds string) (string, *wbxml.Node) {
		return post("Sync", `<Sync xmlns="AirSync:" xmlns:contacts="Contacts:"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+coll+
			`</CollectionId>`+cmds+`</Collection></Collections></Sync>`)
	}
	_, n = sync("0", "")
	key := n.Child("Collections").Child("Collection").ChildText("SyncKey")
	x, n = sync(key, "")
	c := n.Child("Collections").Child("Collection")
	add := c.Child("Commands").Child("Add")
	if add == nil || add.Child("ApplicationData").ChildText("MobilePhoneNumber") != "+1 555 0100" {
		t.Fatalf("the CardDAV card on the phone: %s", x)
	}
	key = c.ChildText("SyncKey")
	x, n = sync(key, `<Commands><Change><ServerId>`+add.ChildText("ServerId")+`</ServerId><ApplicationData><contacts:FirstName>Carol</contacts:FirstName>`+
		`<contacts:LastName>Jones</contacts:LastName><contacts:MobilePhoneNumber>+1 555 0123</contacts:MobilePhoneNumber></ApplicationData></Change>`+
		`<Add><ClientId>p1</ClientId><ApplicationData><contacts:FirstName>Pat</contacts:FirstName><contacts:LastName>Phone</contacts:LastName>`+
		`<contacts:Email1Address>pat@example.test</contacts:Email1Address></ApplicationData></Add></Commands>`)
	c = n.Child("Collections").Child("Collection")
	if c.Child("Responses").Child("Add").ChildText("Status") != "1" {
		t.Fatalf("phone edits: %s", x)
	}
	key = c.ChildText("SyncKey")
	run("sync")
	files, _ := os.ReadDir(abDir)
	var all []string
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(abDir, f.Name()))
		all = append(all, string(b))
	}
	joined := strings.Join(all, "\n---\n")
	if len(files) != 2 || !strings.Contains(joined, "+1 555 0123") || !strings.Contains(joined, "X-CUSTOM:kept") ||
		!strings.Contains(joined, "pat@example.test") || strings.Contains(joined, "+1 555 0100") {
		t.Fatalf("vdirsyncer's copy after the phone's edits:\n%s", joined)
	}
	// A card vdirsyncer uploads reaches the phone.
	os.WriteFile(filepath.Join(abDir, "dora.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:dora-1\r\nFN:Dora Desk\r\nN:Desk;Dora;;;\r\nEMAIL:dora@example.test\r\nEND:VCARD\r\n"), 0o600)
	run("sync")
	x, _ = sync(key, "")
	if !strings.Contains(x, ">dora@example.test</Email1Address>") {
		t.Fatalf("vdirsyncer's card on the phone: %s", x)
	}
}
