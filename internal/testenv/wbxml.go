package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The independent WBXML codec: Debian's libwbxml2-utils (xml2wbxml,
// wbxml2xml with the ActiveSync language), so that ActiveSync tests
// encode their requests and check Roost's answers with code Roost did
// not write.

// WBXMLHeader is the prolog XML2WBXML puts before a document.
const WBXMLHeader = `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">
`

// NeedLibwbxml skips the test when libwbxml2-utils is not installed
// (fails under ROOST_REQUIRE_CLIENTS, as CI sets).
func NeedLibwbxml(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"xml2wbxml", "wbxml2xml"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
				t.Fatalf("%s not installed (Debian libwbxml2-utils)", tool)
			}
			t.Skipf("%s not installed (Debian libwbxml2-utils)", tool)
		}
	}
}

// XML2WBXML encodes an ActiveSync XML document (without the prolog) with
// libwbxml. Elements libwbxml knows as binary (MIME, Data…) take base64.
func XML2WBXML(t testing.TB, doc string) []byte {
	t.Helper()
	NeedLibwbxml(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.wbxml")
	if err := os.WriteFile(in, []byte(WBXMLHeader+doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("xml2wbxml", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("xml2wbxml: %v\n%s\n%s", err, b, doc)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WBXML2XML decodes an ActiveSync WBXML document with libwbxml, compact
// and without the prolog.
func WBXML2XML(t testing.TB, data []byte) string {
	t.Helper()
	NeedLibwbxml(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wbxml"), filepath.Join(dir, "out.xml")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wbxml2xml", "-l", "ACTIVESYNC", "-m", "0", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("wbxml2xml: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.Index(s, "<!DOCTYPE"); i >= 0 {
		s = s[i:]
		s = s[strings.IndexByte(s, '>')+1:]
	}
	return strings.TrimSpace(s)
}
