// Package archtest checks the import rules of STYLE.md with `go list`, so
// the layering cannot erode one convenient import at a time.
package archtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const mod = "github.com/roost-mail/roost/"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string // production files only, as go list reports them
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "../../...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// adapters are the protocol packages that sit side by side.
var adapters = []string{"imapserver", "pop3server", "smtpserver", "davserver", "jmapserver", "easserver", "web", "adminapi", "sieveserver"}

// concrete backends only internal/app may name.
var concrete = []string{"internal/store/sqlstore", "internal/blob/fs", "internal/blob/s3", "internal/directory/ldap", "internal/directory/unix"}

func rel(p string) string { return strings.TrimPrefix(p, mod) }

func isAdapter(p string) bool {
	r := rel(p)
	for _, a := range adapters {
		if r == "internal/"+a || strings.HasPrefix(r, "internal/"+a+"/") {
			return true
		}
	}
	return false
}

func adapterOf(p string) string {
	return strings.SplitN(strings.TrimPrefix(rel(p), "internal/"), "/", 2)[0]
}

func TestImportRules(t *testing.T) {
	for _, v := range violations(listPackages(t)) {
		t.Error(v)
	}
}

// layers orders Roost's packages bottom-up (STYLE.md, docs/architecture.md).
// A package imports only packages of lower layers, or of its own entry
// (internal/store/sqlstore imports internal/store): siblings of one layer
// never import each other, so the domain services (mail, queue,
// groupware) talk through interfaces the app wires, and netserve, events
// and auth know nothing of storage. A new package must be placed here.
var layers = [][]string{
	{"internal/proto", "internal/config", "internal/metrics", "internal/audit", "web"}, // web: the built web client (embed)
	{"internal/blob", "internal/auth", "internal/events", "internal/netserve"},
	{"internal/store"},
	{"internal/directory"},
	{"internal/mail", "internal/queue", "internal/groupware", "internal/search", "internal/cluster", "internal/onboard", "internal/backup", "internal/oidc"},
	adapterPaths(),
	{"internal/app"},
	{"cmd"},
}

func adapterPaths() []string {
	var out []string
	for _, a := range adapters {
		out = append(out, "internal/"+a)
	}
	return out
}

// placeOf returns the layer and the entry of a package (longest entry
// that is the package or a parent of it).
func placeOf(r string) (layer int, entry string, ok bool) {
	for i, l := range layers {
		for _, e := range l {
			if (r == e || strings.HasPrefix(r, e+"/")) && len(e) > len(entry) {
				layer, entry, ok = i, e, true
			}
		}
	}
	return layer, entry, ok
}

// testSupport lists the packages only tests may import besides those
// that import "testing" themselves (storetest, blobtest, postfixtest, a
// shared harness): storefault does not, but is a test double all the
// same.
var testSupport = []string{"internal/store/storefault", "internal/archtest"}

func isTestSupport(p pkg) bool {
	r := rel(p.ImportPath)
	for _, s := range testSupport {
		if r == s {
			return true
		}
	}
	for _, imp := range p.Imports {
		if imp == "testing" {
			return true
		}
	}
	return false
}

// TestOnlyNetserveAccepts: every TCP service runs on netserve's lifecycle
// (accept loop, context, graceful Close), none has an accept loop of its
// own.
func TestOnlyNetserveAccepts(t *testing.T) {
	for _, v := range acceptViolations(listPackages(t)) {
		t.Error(v)
	}
}

var acceptCall = regexp.MustCompile(`\.Accept\(\)`)

// listenerWrappers may call Accept: they are net.Listener wrappers handed to
// http.Server, whose lifecycle (Serve, Shutdown) the HTTP listeners use; they
// run no accept loop of their own.
var listenerWrappers = map[string]bool{
	"internal/app/httpframe.go": true, // request framing checks (RFC 9112 §6.1)
	"internal/app/metrics.go":   true, // counts connections per listener (roost_sessions)
}

func acceptViolations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if rel(p.ImportPath) == "internal/netserve" {
			continue
		}
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			if acceptCall.Match(b) && !listenerWrappers[rel(p.ImportPath)+"/"+f] {
				out = append(out, fmt.Sprintf("%s/%s accepts connections itself: serve through internal/netserve", rel(p.ImportPath), f))
			}
		}
	}
	return out
}

// violations applies the rules to a package list.
func violations(pkgs []pkg) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	support := map[string]bool{}
	for _, p := range pkgs {
		if isTestSupport(p) {
			support[p.ImportPath] = true
		}
	}
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		// Production code never depends on test support.
		if !support[p.ImportPath] {
			for _, d := range p.Deps {
				if support[d] {
					errorf("%s depends on the test-support package %s", r, rel(d))
				}
			}
		}
		layer, entry, placed := placeOf(r)
		if !support[p.ImportPath] && !placed {
			errorf("%s has no place in archtest's layers: add it where it belongs", r)
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			ir := rel(imp)
			switch {
			case strings.HasPrefix(ir, "cmd/"):
				errorf("%s imports the command %s", r, ir)
			case ir == "internal/app" && !strings.HasPrefix(r, "cmd/"):
				errorf("%s imports the composition root internal/app: only cmd/ may", r)
			case isAdapter(imp) && isAdapter(p.ImportPath) && adapterOf(imp) != adapterOf(p.ImportPath):
				errorf("adapter %s imports adapter %s: adapters never import each other", r, ir)
			case isAdapter(imp) && !isAdapter(p.ImportPath) && r != "internal/app":
				errorf("%s imports the adapter %s: only internal/app wires adapters", r, ir)
			}
			if il, ie, ok := placeOf(ir); ok && placed && !support[p.ImportPath] && !support[imp] && ie != entry && il >= layer {
				errorf("%s imports %s: a package imports only lower layers (%s is at layer %d, %s at %d)", r, ir, entry, layer, ie, il)
			}
			for _, c := range concrete {
				// Test support (internal/testenv) opens real stores for tests.
				if support[p.ImportPath] {
					break
				}
				if (ir == c || strings.HasPrefix(ir, c+"/")) && r != "internal/app" && !strings.HasPrefix(r, c) {
					errorf("%s names the concrete backend %s: only internal/app may", r, ir)
				}
			}
		}
		// Pure wire formats know nothing of storage or the rest of Roost.
		if strings.HasPrefix(r, "internal/proto") {
			for _, d := range p.Deps {
				if strings.HasPrefix(d, mod) && !strings.HasPrefix(rel(d), "internal/proto") {
					errorf("%s depends on %s: internal/proto packages stand alone", r, rel(d))
				}
			}
		}
		// The domain never depends on adapters or the composition root.
		if strings.HasPrefix(r, "internal/store") || strings.HasPrefix(r, "internal/blob") || r == "internal/config" {
			for _, d := range p.Deps {
				if isAdapter(d) || rel(d) == "internal/app" {
					errorf("%s depends on %s", r, rel(d))
				}
			}
		}
	}
	return out
}

// TestRulesCatchViolations feeds the rules packages that break each of
// them: every one must be reported.
func TestRulesCatchViolations(t *testing.T) {
	m := func(s string) string { return mod + s }
	bad := []pkg{
		{ImportPath: m("internal/imapserver"), Imports: []string{m("internal/pop3server")}},
		{ImportPath: m("internal/mail"), Imports: []string{m("internal/store/sqlstore")}},
		{ImportPath: m("internal/store"), Imports: []string{m("internal/app")}, Deps: []string{m("internal/app")}},
		{ImportPath: m("internal/proto/imap"), Deps: []string{m("internal/store")}},
		{ImportPath: m("internal/mail"), Imports: []string{m("internal/imapserver")}},
		{ImportPath: m("internal/store"), Imports: []string{m("cmd/roost")}},
		// Order inside the domain and the place of the shared packages.
		{ImportPath: m("internal/mail"), Imports: []string{m("internal/queue")}},
		{ImportPath: m("internal/queue"), Imports: []string{m("internal/groupware")}},
		{ImportPath: m("internal/directory"), Imports: []string{m("internal/mail")}},
		{ImportPath: m("internal/store"), Imports: []string{m("internal/directory")}},
		{ImportPath: m("internal/netserve"), Imports: []string{m("internal/store")}},
		{ImportPath: m("internal/events"), Imports: []string{m("internal/store")}},
		{ImportPath: m("internal/auth"), Imports: []string{m("internal/store")}},
		{ImportPath: m("internal/newthing")},
		// Production code importing test support.
		{ImportPath: m("internal/imapserver"), Deps: []string{m("internal/store/storefault")}},
		{ImportPath: m("internal/mail"), Deps: []string{m("internal/store/storetest")}},
		{ImportPath: m("internal/imapserver"), Deps: []string{m("internal/testenv")}},
	}
	supportPkgs := []pkg{
		{ImportPath: m("internal/store/storefault")},
		{ImportPath: m("internal/store/storetest"), Imports: []string{"testing"}},
		{ImportPath: m("internal/testenv"), Imports: []string{"testing"}},
	}
	for i, p := range bad {
		if len(violations(append([]pkg{p}, supportPkgs...))) == 0 {
			t.Errorf("case %d (%s) not reported", i, rel(p.ImportPath))
		}
	}
	good := []pkg{
		{ImportPath: m("internal/app"), Imports: []string{m("internal/store/sqlstore"), m("internal/imapserver")}},
		{ImportPath: m("internal/imapserver"), Imports: []string{m("internal/store"), m("internal/proto/imap")}},
		{ImportPath: m("internal/store/sqlstore"), Imports: []string{m("internal/store"), m("internal/blob"), m("internal/proto/mime")}},
		{ImportPath: m("internal/directory"), Imports: []string{m("internal/store"), m("internal/auth")}},
		{ImportPath: m("internal/smtpserver"), Imports: []string{m("internal/mail"), m("internal/queue"), m("internal/netserve"), m("internal/directory")}},
		{ImportPath: m("internal/store/storefault"), Imports: []string{m("internal/store"), m("internal/directory")}},
		{ImportPath: m("internal/store/storetest"), Imports: []string{"testing", m("internal/store")}},
		{ImportPath: m("internal/testenv"), Imports: []string{"testing", m("internal/store/sqlstore"), m("internal/blob/fs")}},
	}
	if v := violations(good); len(v) != 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
}
