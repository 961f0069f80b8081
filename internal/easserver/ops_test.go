package easserver_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// Settings: Oof set and get share the state of `roost admin user oof`
// (mail.GetOOF); UserInformation lists the addresses.
func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "SETPHONE")
	d.provision()
	r := d.do("Settings", `<Settings xmlns="Settings:"><Oof><Set><OofState>1</OofState><OofMessage><AppliesToInternal/>`+
		`<Enabled>1</Enabled><ReplyMessage>Back Monday.</ReplyMessage><BodyType>TEXT</BodyType></OofMessage></Set></Oof>`+
		`<DeviceInformation><Set><Model>Pixel 8</Model><OS>Android 14</OS></Set></DeviceInformation>`+
		`<UserInformation><Get/></UserInformation></Settings>`)
	if r.status() != "1" || !strings.Contains(r.xml, "<PrimarySmtpAddress>alice@acme.test</PrimarySmtpAddress>") ||
		!strings.Contains(r.xml, "<UserDisplayName>Alice Liddell</UserDisplayName>") {
		t.Fatalf("Settings: %s", r.xml)
	}
	o, err := mail.GetOOF(e.as("alice"), e.db, "alice")
	if err != nil || !o.Enabled || o.Message != "Back Monday." {
		t.Fatalf("OOF in the store: %+v %v", o, err)
	}
	o.Message = "Set by the admin."
	o.From = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	if err := mail.SetOOF(e.as("alice"), e.db, "alice", o); err != nil {
		t.Fatal(err)
	}
	r = d.do("Settings", `<Settings xmlns="Settings:"><Oof><Get><BodyType>TEXT</BodyType></Get></Oof></Settings>`)
	if !strings.Contains(r.xml, "<OofState>2</OofState><StartTime>2026-07-01T00:00:00.000Z</StartTime>") ||
		!strings.Contains(r.xml, "<ReplyMessage>Set by the admin.</ReplyMessage>") {
		t.Fatalf("Oof get: %s", r.xml)
	}
	devs, _ := e.listDevices("alice")
	if len(devs) != 1 || devs[0].Model != "Pixel 8" || devs[0].OS != "Android 14" {
		t.Fatalf("device information: %+v", devs)
	}
}

// MoveItems, ItemOperations (a body and an attachment), folder commands.
func TestItemAndFolderOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "OPSPHONE")
	d.provision()
	att := base64.StdEncoding.EncodeToString([]byte("PDF-ish bytes"))
	it := e.deliver("alice", store.SpecialInbox, "From: bob@acme.test\nTo: alice@acme.test\nSubject: report\n"+
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n"+
		"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=report.pdf\nContent-Transfer-Encoding: base64\n\n"+att+"\n--b--\n")
	inbox := id(e.folder("alice", store.SpecialInbox))
	sid := inbox + ":" + itoa(it.UID)
	r := d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:" xmlns:airsyncbase="AirSyncBase:"><Fetch><Store>Mailbox</Store>`+
		`<airsync:CollectionId>`+inbox+`</airsync:CollectionId><airsync:ServerId>`+sid+`</airsync:ServerId>`+
		`<Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type></airsyncbase:BodyPreference></Options></Fetch></ItemOperations>`)
	f := r.n.Child("Response").Child("Fetch")
	props := f.Child("Properties")
	if f.ChildText("Status") != "1" || props.ChildText("Subject") != "report" || !strings.Contains(props.Child("Body").ChildText("Data"), "See attached.") {
		t.Fatalf("fetch: %s", r.xml)
	}
	a := props.Child("Attachments").Child("Attachment")
	if a.ChildText("DisplayName") != "report.pdf" {
		t.Fatalf("attachments: %s", r.xml)
	}
	r = d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsyncbase="AirSyncBase:"><Fetch><Store>Mailbox</Store>`+
		`<airsyncbase:FileReference>`+a.ChildText("FileReference")+`</airsyncbase:FileReference></Fetch></ItemOperations>`)
	f = r.n.Child("Response").Child("Fetch")
	if f.ChildText("Status") != "1" || f.Child("Properties").ChildText("Data") != att || f.Child("Properties").ChildText("ContentType") != "application/pdf" {
		t.Fatalf("attachment: %s", r.xml)
	}
	// FolderCreate, MoveItems into it, FolderUpdate, FolderDelete.
	fs := d.folderSync("0")
	key := fs.n.ChildText("SyncKey")
	r = d.do("FolderCreate", `<FolderCreate xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ParentId>0</ParentId><DisplayName>Reports</DisplayName><Type>12</Type></FolderCreate>`)
	newID := r.n.ChildText("ServerId")
	if r.status() != "1" || newID == "" {
		t.Fatalf("FolderCreate: %s", r.xml)
	}
	key = r.n.ChildText("SyncKey")
	if r = d.folderSync(key); !strings.Contains(r.xml, "<Count>0</Count>") {
		t.Fatalf("the device's own folder came back: %s", r.xml)
	}
	if r := d.do("FolderCreate", `<FolderCreate xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ParentId>0</ParentId><DisplayName>Reports</DisplayName><Type>12</Type></FolderCreate>`); r.status() != "2" {
		t.Fatalf("duplicate FolderCreate: %s", r.xml)
	}
	r = d.do("MoveItems", `<MoveItems xmlns="Move:"><Move><SrcMsgId>`+sid+`</SrcMsgId><SrcFldId>`+inbox+`</SrcFldId><DstFldId>`+newID+`</DstFldId></Move>`+
		`<Move><SrcMsgId>`+inbox+`:99999</SrcMsgId><SrcFldId>`+inbox+`</SrcFldId><DstFldId>`+newID+`</DstFldId></Move></MoveItems>`)
	resps := r.n.All("Response")
	if len(resps) != 2 || resps[0].ChildText("Status") != "3" || !strings.HasPrefix(resps[0].ChildText("DstMsgId"), newID+":") || resps[1].ChildText("Status") != "1" {
		t.Fatalf("MoveItems: %s", r.xml)
	}
	if r := d.do("FolderUpdate", `<FolderUpdate xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ServerId>`+newID+`</ServerId><ParentId>0</ParentId><DisplayName>Old reports</DisplayName></FolderUpdate>`); r.status() != "1" {
		t.Fatalf("FolderUpdate: %s", r.xml)
	}
	if r := d.do("FolderDelete", `<FolderDelete xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ServerId>`+inbox+`</ServerId></FolderDelete>`); r.status() != "3" {
		t.Fatalf("deleting the inbox: %s", r.xml)
	}
	if r := d.do("FolderDelete", `<FolderDelete xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ServerId>`+newID+`</ServerId></FolderDelete>`); r.status() != "1" {
		t.Fatalf("FolderDelete: %s", r.xml)
	}
	if r := d.do("FolderDelete", `<FolderDelete xmlns="FolderHierarchy:"><SyncKey>`+key+`</SyncKey><ServerId>`+id(e.folder("bob", store.SpecialTrash))+`</ServerId></FolderDelete>`); r.status() != "4" {
		t.Fatalf("deleting bob's folder: %s", r.xml)
	}
}

// Search of the GAL: the users of alice's tenant whose name or address
// matches, never another tenant's.
func TestSearchGAL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "GALPHONE")
	d.provision()
	q := func(query, rng string) reply {
		return d.do("Search", `<Search xmlns="Search:"><Store><Name>GAL</Name><Query>`+query+`</Query><Options><Range>`+rng+`</Range></Options></Store></Search>`)
	}
	r := q("acme.test", "0-99")
	st := r.n.Child("Response").Child("Store")
	if st.ChildText("Status") != "1" || st.ChildText("Total") != "2" || len(st.All("Result")) != 2 ||
		st.All("Result")[0].Child("Properties").ChildText("DisplayName") != "Alice Liddell" ||
		st.All("Result")[1].Child("Properties").ChildText("EmailAddress") != "bob@acme.test" {
		t.Fatalf("GAL search: %s", r.xml)
	}
	if r := q("eve", "0-99"); r.n.Child("Response").Child("Store").ChildText("Total") != "0" {
		t.Fatalf("another tenant's user found: %s", r.xml)
	}
	if r := q("acme", "1-1"); len(r.n.Child("Response").Child("Store").All("Result")) != 1 || r.n.Child("Response").Child("Store").ChildText("Range") != "1-1" {
		t.Fatalf("range: %s", r.xml)
	}
	if r := d.do("Search", `<Search xmlns="Search:"><Store><Name>Mailbox</Name><Query>x</Query></Store></Search>`); r.n.Child("Response").Child("Store").ChildText("Status") != "2" {
		t.Fatalf("mailbox search: %s", r.xml)
	}
}

// ValidateCert: a self-signed certificate is untrusted, garbage a
// protocol error, a certificate chaining to a trusted root... is what the
// system roots decide; the test certificate is not one.
func TestValidateCert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "CERTPHONE")
	d.provision()
	cert, _, _ := testenv.Cert()
	der := base64.StdEncoding.EncodeToString(cert.Certificate[0])
	r := d.do("ValidateCert", `<ValidateCert xmlns="ValidateCert:"><Certificates><Certificate>`+der+`</Certificate><Certificate>bm90IGEgY2VydA==</Certificate></Certificates></ValidateCert>`)
	cs := r.n.All("Certificate")
	if r.n.ChildText("Status") != "1" || len(cs) != 2 || cs[0].ChildText("Status") != "4" || cs[1].ChildText("Status") != "2" {
		t.Fatalf("ValidateCert: %s", r.xml)
	}
}
