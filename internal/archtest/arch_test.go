// Package archtest checks the import rules of STYLE.md with `go list`, so
// the layering cannot erode one convenient import at a time.
package archtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/roost-mail/roost/"

type pkg struct {
	ImportPath string
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

// violations applies the rules to a package list.
func violations(pkgs []pkg) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, p := range pkgs {
		r := rel(p.ImportPath)
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
			for _, c := range concrete {
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
	}
	for i, p := range bad {
		if len(violations([]pkg{p})) == 0 {
			t.Errorf("case %d (%s) not reported", i, rel(p.ImportPath))
		}
	}
	good := []pkg{
		{ImportPath: m("internal/app"), Imports: []string{m("internal/store/sqlstore"), m("internal/imapserver")}},
		{ImportPath: m("internal/imapserver"), Imports: []string{m("internal/store"), m("internal/proto/imap")}},
	}
	if v := violations(good); len(v) != 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
}
