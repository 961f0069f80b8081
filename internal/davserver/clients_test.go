package davserver_test

import (
	"os"
	"os/exec"
	"testing"
)

// needTool returns the path of an external client, skipping the test when
// it is missing — unless ROOST_REQUIRE_CLIENTS is set (CI), then failing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s not installed (ROOST_REQUIRE_CLIENTS is set)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// needPython returns Debian's /usr/bin/python3 after checking that it can
// import the modules.
func needPython(t *testing.T, modules ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	args := []string{"-c", "import sys"}
	for _, m := range modules {
		args[1] += "; import " + m
	}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s cannot import %v: %v\n%s", py, modules, err, out)
		}
		t.Skipf("%s cannot import %v", py, modules)
	}
	return py
}
