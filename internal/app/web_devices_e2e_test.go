package app

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestWebDevicesE2E: three devices register through real ActiveSync
// requests (Provision with device information, FolderSync; encoded by
// libwbxml's xml2wbxml); the user sees them in the settings in Chromium
// (web/e2e/devices.mjs), wipes one (after cancelling the confirmation
// once), wipes only the account from the 16.1 one and removes the third.
// Then each wiped device's next Provision carries the wipe
// (RemoteWipe, AccountOnlyRemoteWipe) and the admin API lists what is
// left.
func TestWebDevicesE2E(t *testing.T) {
	testenv.NeedLibwbxml(t)
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\nallow_plaintext_auth = true\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"pat","tenant":"default","email":"pat@example.org","name":"Pat","password":"pw-pat-12345"}`, 201)

	base := "https://" + httpsAddr
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Minute}
	type device struct{ id, typ, ua, version, model, os, key string }
	post := func(d *device, cmd, doc string) (string, *wbxml.Node) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/Microsoft-Server-ActiveSync?Cmd="+cmd+"&User=pat&DeviceId="+d.id+"&DeviceType="+d.typ,
			bytes.NewReader(testenv.XML2WBXML(t, doc)))
		req.SetBasicAuth("pat", "pw-pat-12345")
		req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
		req.Header.Set("MS-ASProtocolVersion", d.version)
		req.Header.Set("User-Agent", d.ua)
		if d.key != "" {
			req.Header.Set("X-MS-PolicyKey", d.key)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || len(raw) == 0 {
			t.Fatalf("%s %s: %d %q", d.id, cmd, res.StatusCode, raw)
		}
		n, err := eas.Decode(raw, wbxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return testenv.WBXML2XML(t, raw), n
	}
	provDoc := `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>%s</Policy></Policies></Provision>`
	register := func(d *device) {
		t.Helper()
		_, n := post(d, "Provision", `<Provision xmlns="Provision:" xmlns:settings="Settings:"><settings:DeviceInformation><settings:Set>`+
			`<settings:Model>`+d.model+`</settings:Model><settings:OS>`+d.os+`</settings:OS><settings:UserAgent>`+d.ua+`</settings:UserAgent>`+
			`</settings:Set></settings:DeviceInformation><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`)
		temp := n.Child("Policies").Child("Policy").ChildText("PolicyKey")
		_, n = post(d, "Provision", fmt.Sprintf(provDoc, "<PolicyKey>"+temp+"</PolicyKey><Status>1</Status>"))
		d.key = n.Child("Policies").Child("Policy").ChildText("PolicyKey")
		if x, _ := post(d, "FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`); !strings.Contains(x, "<Status>1</Status>") {
			t.Fatalf("%s FolderSync: %s", d.id, x)
		}
	}
	iphone := &device{id: "IPHONEPAT", typ: "iPhone", ua: "Apple-iPhone15C2/2104.92", version: "14.1", model: "iPhone15,2", os: "iOS 17.4"}
	outlook := &device{id: "OUTLOOKPAT", typ: "WindowsOutlook15", ua: "Outlook/16.0 (16.0.17328.20184; x64)", version: "16.1", model: "Outlook for Windows", os: "Windows 11"}
	android := &device{id: "ANDROIDPAT", typ: "Android", ua: "Android-Mail/2024.01.14", version: "14.1", model: "Pixel 8", os: "Android 14"}
	for _, d := range []*device{iphone, outlook, android} {
		register(d)
	}

	runWebE2E(t, node, chromium, webDir, "devices.mjs", "web-devices-e2e",
		"BASE="+base, "USER=pat", "USER_PW=pw-pat-12345", "FULL="+iphone.id, "ACCOUNT="+outlook.id, "REMOVE="+android.id)

	// The next Provision of each wiped device carries the wipe.
	if x, _ := post(iphone, "Provision", fmt.Sprintf(provDoc, "")); !strings.Contains(x, "<RemoteWipe/>") {
		t.Fatalf("iPhone's Provision after the wipe: %s", x)
	}
	// (libwbxml 0.11.8 has no name for 16.1's AccountOnlyRemoteWipe: Roost's decoder reads it.)
	if x, n := post(outlook, "Provision", fmt.Sprintf(provDoc, "")); n.Child("AccountOnlyRemoteWipe") == nil || n.Child("RemoteWipe") != nil {
		t.Fatalf("Outlook's Provision after the account wipe: %s", x)
	}
	var ds []struct {
		ID   string `json:"id"`
		Wipe *struct {
			State string `json:"state"`
			By    string `json:"by"`
		} `json:"wipe"`
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/pat/devices", "", 200)), &ds)
	if len(ds) != 2 || ds[0].ID != iphone.id || ds[0].Wipe == nil || ds[0].Wipe.By != "pat" || ds[1].ID != outlook.id || ds[1].Wipe == nil ||
		ds[1].Wipe.State != "account" {
		t.Fatalf("devices after the browser: %+v", ds)
	}
}
