package easserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

const aliceCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Carol Jones\r\nN:Jones;Carol;;Dr.;\r\n" +
	"ORG:Acme;Research\r\nTITLE:Chemist\r\nEMAIL;TYPE=work:carol@acme.test\r\nTEL;TYPE=cell:+1 555 0100\r\n" +
	"TEL;TYPE=work,voice:+1 555 0199\r\nADR;TYPE=work:;;1 Lab Road;Springfield;IL;62701;USA\r\nBDAY:1980-05-17\r\n" +
	"NOTE:Met at the conference.\r\nX-CUSTOM:kept\r\nCATEGORIES:Work,VIP\r\nEND:VCARD\r\n"

// Contacts: a card stored by CardDAV reaches the device as the contact
// class; the device's edit is merged into the card (fields it does not
// know of kept), its new contact becomes a vCard with a UID, its delete
// removes the card.
func TestSyncContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "CONTACTPHONE")
	d.provision()
	ab := e.folder("alice", store.SpecialContacts)
	ctx := e.as("alice")
	if _, err := e.db.AppendItem(ctx, ab.ID, store.NewItem{Content: strings.NewReader(aliceCard), Name: "card-1.vcf", ObjectUID: "card-1"}); err != nil {
		t.Fatal(err)
	}
	fs := d.folderSync("0")
	if !strings.Contains(fs.xml, "<ServerId>"+id(ab)+"</ServerId><ParentId>0</ParentId><DisplayName>"+ab.Name+"</DisplayName><Type>9</Type>") {
		t.Fatalf("no address book in FolderSync: %s", fs.xml)
	}
	coll := id(ab)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, "")
	c := collection(r)
	add := c.Child("Commands").Child("Add")
	if add == nil {
		t.Fatalf("no contact: %s", r.xml)
	}
	ad := add.Child("ApplicationData")
	for k, v := range map[string]string{"FirstName": "Carol", "LastName": "Jones", "Title": "Dr.", "CompanyName": "Acme", "Department": "Research",
		"JobTitle": "Chemist", "Email1Address": "carol@acme.test", "MobilePhoneNumber": "+1 555 0100", "BusinessPhoneNumber": "+1 555 0199",
		"BusinessCity": "Springfield", "BusinessPostalCode": "62701", "Birthday": "1980-05-17T00:00:00.000Z", "FileAs": "Carol Jones"} {
		if got := ad.ChildText(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if ad.Child("Body").ChildText("Data") != "Met at the conference." || len(ad.Child("Categories").All("Category")) != 2 {
		t.Fatalf("note or categories: %s", r.xml)
	}
	key = c.ChildText("SyncKey")
	sid := add.ChildText("ServerId")
	// The device edits the contact and adds another.
	r = d.do("Sync", `<Sync xmlns="AirSync:" xmlns:contacts="Contacts:" xmlns:airsyncbase="AirSyncBase:"><Collections><Collection><SyncKey>`+key+
		`</SyncKey><CollectionId>`+coll+`</CollectionId><Commands>`+
		`<Change><ServerId>`+sid+`</ServerId><ApplicationData><contacts:FirstName>Caroline</contacts:FirstName><contacts:LastName>Jones</contacts:LastName>`+
		`<contacts:MobilePhoneNumber>+1 555 0111</contacts:MobilePhoneNumber><contacts:Email1Address>"Caroline" &lt;caroline@acme.test&gt;</contacts:Email1Address>`+
		`</ApplicationData></Change>`+
		`<Add><ClientId>new-1</ClientId><ApplicationData><contacts:FirstName>Dan</contacts:FirstName><contacts:LastName>Brown</contacts:LastName>`+
		`<contacts:HomePhoneNumber>555 0200</contacts:HomePhoneNumber><airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:Data>neighbour</airsyncbase:Data></airsyncbase:Body>`+
		`</ApplicationData></Add></Commands></Collection></Collections></Sync>`)
	c = collection(r)
	ra := c.Child("Responses").Child("Add")
	if ra == nil || ra.ChildText("Status") != "1" || ra.ChildText("ClientId") != "new-1" || ra.ChildText("ServerId") == "" {
		t.Fatalf("device add: %s", r.xml)
	}
	// The edit comes back as Delete of the old id and Add of the new one;
	// the device's own Add does not come back.
	cmds := c.Child("Commands")
	if cmds == nil || cmds.Child("Delete").ChildText("ServerId") != sid || len(cmds.All("Add")) != 1 ||
		cmds.Child("Add").Child("ApplicationData").ChildText("FirstName") != "Caroline" {
		t.Fatalf("after the edit: %s", r.xml)
	}
	items, err := e.db.ListObjects(ctx, ab.ID, store.ObjectQuery{})
	if err != nil || len(items) != 2 {
		t.Fatalf("cards: %v %v", items, err)
	}
	cards := e.read("alice", ab)
	var carol, dan string
	for _, s := range cards {
		if strings.Contains(s, "UID:card-1") {
			carol = s
		} else {
			dan = s
		}
	}
	for _, want := range []string{"N:Jones;Caroline;;;", "FN:Caroline Jones", "TEL;TYPE=cell:+1 555 0111", "EMAIL;TYPE=internet:caroline@acme.test",
		"X-CUSTOM:kept", "NOTE:Met at the conference."} {
		if !strings.Contains(carol, want) {
			t.Errorf("edited card lacks %q:\n%s", want, carol)
		}
	}
	if strings.Contains(carol, "Chemist") {
		t.Errorf("a field the device cleared survived:\n%s", carol)
	}
	for _, want := range []string{"FN:Dan Brown", "TEL;TYPE=home,voice:555 0200", "NOTE:neighbour", "UID:"} {
		if !strings.Contains(dan, want) {
			t.Errorf("new card lacks %q:\n%s", want, dan)
		}
	}
	// The device deletes Dan.
	key = c.ChildText("SyncKey")
	r = d.sync(coll, key, `<Commands><Delete><ServerId>`+ra.ChildText("ServerId")+`</ServerId></Delete></Commands>`)
	if collection(r).Child("Commands") != nil {
		t.Fatalf("the delete came back: %s", r.xml)
	}
	if items, _ := e.db.ListObjects(ctx, ab.ID, store.ObjectQuery{}); len(items) != 1 {
		t.Fatalf("%d cards after delete", len(items))
	}
	// MoveItems refuses contacts.
	r = d.do("MoveItems", `<MoveItems xmlns="Move:"><Move><SrcMsgId>`+coll+`:1</SrcMsgId><SrcFldId>`+coll+`</SrcFldId><DstFldId>`+id(e.folder("alice", store.SpecialInbox))+`</DstFldId></Move></MoveItems>`)
	if r.n.Child("Response").ChildText("Status") != "1" {
		t.Fatalf("move of a contact: %s", r.xml)
	}
}
