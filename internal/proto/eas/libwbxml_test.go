package eas

import (
	"bytes"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// The independent codec (testenv.XML2WBXML, testenv.WBXML2XML: Debian's
// libwbxml2-utils with the ActiveSync language) encodes what these tests
// send and decodes what Roost writes, so Roost's WBXML is checked by code
// Roost did not write.

func TestLibwbxmlEncodesWeDecode(t *testing.T) {
	t.Parallel()
	doc := `<Sync xmlns="AirSync:" xmlns:airsyncbase="AirSyncBase:" xmlns:email="Email:"><Collections><Collection>` +
		`<SyncKey>0</SyncKey><CollectionId>5</CollectionId><Commands><Change><ServerId>5:7</ServerId><ApplicationData>` +
		`<email:Read>1</email:Read></ApplicationData></Change></Commands><Options><MIMESupport>2</MIMESupport>` +
		`<airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>200</airsyncbase:TruncationSize>` +
		`</airsyncbase:BodyPreference></Options></Collection></Collections></Sync>`
	n, err := Decode(testenv.XML2WBXML(t, doc), wbxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := n.Child("Collections").Child("Collection")
	if n.Name != "Sync" || c.ChildText("SyncKey") != "0" || c.ChildText("CollectionId") != "5" {
		t.Fatalf("decoded:\n%s", XML(n))
	}
	bp := c.Child("Options").Child("BodyPreference")
	if bp == nil || bp.Page != AirSyncBase || bp.ChildText("TruncationSize") != "200" {
		t.Fatalf("BodyPreference:\n%s", XML(n))
	}
	rd := c.Child("Commands").Child("Change").Child("ApplicationData").Child("Read")
	if rd == nil || rd.Page != Email || rd.Content() != "1" {
		t.Fatalf("Read:\n%s", XML(n))
	}
}

func TestWeEncodeLibwbxmlDecodes(t *testing.T) {
	t.Parallel()
	n := wbxml.El(FolderHierarchy, "FolderSync",
		wbxml.Str(FolderHierarchy, "Status", "1"),
		wbxml.Str(FolderHierarchy, "SyncKey", "1.42"),
		wbxml.El(FolderHierarchy, "Changes",
			wbxml.Str(FolderHierarchy, "Count", "1"),
			wbxml.El(FolderHierarchy, "Add",
				wbxml.Str(FolderHierarchy, "ServerId", "3"),
				wbxml.Str(FolderHierarchy, "ParentId", "0"),
				wbxml.Str(FolderHierarchy, "DisplayName", "Posteingang & <Ä>"),
				wbxml.Str(FolderHierarchy, "Type", "2"))),
		wbxml.El(AirSyncBase, "Body", wbxml.Opq(AirSyncBase, "Data", []byte("raw"))))
	b, err := Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	got := testenv.WBXML2XML(t, b)
	want := `<FolderSync xmlns="FolderHierarchy:"><Status>1</Status><SyncKey>1.42</SyncKey><Changes><Count>1</Count>` +
		`<Add><ServerId>3</ServerId><ParentId>0</ParentId><DisplayName>Posteingang &amp; &lt;Ä&gt;</DisplayName><Type>2</Type></Add></Changes>` +
		`<Body xmlns="AirSyncBase:"><Data>raw</Data></Body></FolderSync>`
	if got != want {
		t.Fatalf("wbxml2xml:\n got %s\nwant %s", got, want)
	}
	// And both directions agree: libwbxml's encoding of the same XML
	// decodes to the same tree.
	back, err := Decode(testenv.XML2WBXML(t, strings.Replace(got, `<Data>raw</Data>`, `<Data>raw</Data>`, 1)), wbxml.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	n.Children[3].Children[0].IsOpaque, n.Children[3].Children[0].Text, n.Children[3].Children[0].Opaque = false, "raw", nil
	if XML(back) != XML(n) {
		t.Fatalf("round trip:\n%s\nvs\n%s", XML(back), XML(n))
	}
}

// TestEveryTagLibwbxml encodes every tag of the table and has libwbxml
// name it: the code pages agree with an implementation Roost did not
// write (where both name a token, except the names renamed to
// [MS-ASWBXML]'s in pages.go).
func TestEveryTagLibwbxml(t *testing.T) {
	t.Parallel()
	renamed := map[string]bool{}
	for _, p := range []byte{Email, Calendar, Tasks} {
		for _, n := range []string{"Type", "Until", "Occurrences", "Interval", "DayOfWeek", "DayOfMonth", "WeekOfMonth", "MonthOfYear",
			"Start", "Regenerate", "DeadOccur", "Email", "Name", "Rtf", "Deleted", "ExceptionStartTime", "OrganizerEmail",
			"OrganizerName", "AttendeeStatus", "AttendeeType", "UtcDueDate", "UtcStartDate"} {
			renamed[pages[p].Name+":"+n] = true
		}
	}
	renamed["Provision:AccountOnlyRemoteWipe"] = true
	for num, p := range pages {
		if num == Find {
			continue // libwbxml 0.11.8 has no Find page
		}
		root := wbxml.El(num, "x")
		var want bytes.Buffer
		for tok := byte(5); tok < 0x40; tok++ {
			name, ok := p.Tags[tok]
			if !ok || renamed[p.Name+":"+name] {
				continue
			}
			if t2, _ := Table.Token(num, name); t2 != tok {
				continue // a duplicate name: encodes as its first token
			}
			root.Children = append(root.Children, wbxml.Str(num, name, "v"))
			want.WriteString("<" + name + ">v</" + name + ">")
		}
		root.Name = root.Children[0].Name
		root.Children = root.Children[1:]
		b, err := Encode(root)
		if err != nil {
			t.Fatal(err)
		}
		// libwbxml shows the elements it knows as binary (Data, MIME,
		// ConversationId…) in base64: "dg==" is "v".
		got := strings.ReplaceAll(testenv.WBXML2XML(t, b), ">dg==<", ">v<")
		exp := `<` + root.Name + ` xmlns="` + p.Name + `:">` + strings.TrimPrefix(want.String(), "<"+root.Name+">v</"+root.Name+">") + `</` + root.Name + `>`
		if got != exp {
			t.Errorf("page %d:\n got %s\nwant %s", num, got, exp)
		}
	}
}
