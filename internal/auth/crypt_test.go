package auth

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCheckCrypt: SHA-crypt hashes of Drepper's test vectors and of
// openssl passwd (run here, when installed) are checked; wrong
// passwords, locked and unsupported hashes are not.
func TestCheckCrypt(t *testing.T) {
	cases := []struct{ hash, pw string }{
		{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"},
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!"},
		{"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!"},
		{"$5$rounds=1400$anotherlongsalts$njY8e8Oazdt6LVB1IFQuzVqvw.kEeITfw0rzKvFXP9/", "we have a short salt string but not a short password"},
		{"$6$rounds=1400$anotherlongsalts$AP.vbZcNbWD30OfPAcUJe702LINHtb7RqILoLW9vJ/DHPMJyr6a.5rQHcOzBXuDOEzAqm8/9xW6EF/z3vOBQp0", "we have a short salt string but not a short password"},
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		for _, pw := range []string{"s3cret", "pässwörd with spaces", strings.Repeat("long", 40), "x"} {
			for _, m := range []string{"-5", "-6"} {
				out, err := exec.Command("openssl", "passwd", m, pw).Output()
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, struct{ hash, pw string }{strings.TrimSpace(string(out)), pw})
			}
		}
	}
	if _, err := exec.LookPath("mkpasswd"); err == nil {
		for _, pw := range []string{"s3cret", "pässwörd with spaces", strings.Repeat("long", 40)} {
			for _, m := range []string{"yescrypt", "sha-512"} {
				out, err := exec.Command("mkpasswd", "-m", m, pw).Output()
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, struct{ hash, pw string }{strings.TrimSpace(string(out)), pw})
			}
		}
		// A cost factor above the default (-R 7: 64 MiB) still passes.
		out, err := exec.Command("mkpasswd", "-m", "yescrypt", "-R", "7", "pw").Output()
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ hash, pw string }{strings.TrimSpace(string(out)), "pw"})
	} else if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Fatal("mkpasswd not installed (Debian: apt-get install whois)")
	}
	for _, c := range cases {
		if ok, err := CheckCrypt(c.hash, c.pw); !ok || err != nil {
			t.Errorf("%s / %q: %v %v", c.hash, c.pw, ok, err)
		}
		if ok, err := CheckCrypt(c.hash, c.pw+"x"); ok || err != nil {
			t.Errorf("%s accepts a wrong password (%v)", c.hash, err)
		}
		if ok, _ := CheckCrypt("!"+c.hash, c.pw); ok {
			t.Errorf("a locked hash matches")
		}
	}
	for _, h := range []string{"", "*", "!", "!!"} {
		if ok, err := CheckCrypt(h, ""); ok || err != nil {
			t.Errorf("%q: %v %v", h, ok, err)
		}
	}
	for _, h := range []string{"$y$jFT$abc$def", "$y$j9T", "$y$xyz$abc$def", "$2b$10$abcdefghijklmnopqrstuv", "$1$abc$def", "abJnggxhB/yWI",
		"$6$rounds=99999999$salt$x"} {
		if ok, err := CheckCrypt(h, "pw"); ok || !errors.Is(err, ErrCryptUnsupported) {
			t.Errorf("%q: %v %v, want unsupported", h, ok, err)
		}
	}
	for _, h := range []string{"$6$nosalt", "$6$rounds=x$s$h", "$5$rounds=1000"} {
		if ok, err := CheckCrypt(h, "pw"); ok || err == nil {
			t.Errorf("%q: %v %v, want an error", h, ok, err)
		}
	}
}

func FuzzCheckCrypt(f *testing.F) {
	f.Add("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "pw")
	f.Add("$5$rounds=1000$s$x", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if strings.Contains(hash, "rounds=") || (strings.HasPrefix(hash, "$y$j") && len(hash) > 5 && strings.IndexByte(cryptAlphabet, hash[4]) > 8) {
			return // keep each run short
		}
		CheckCrypt(hash, pw)
	})
}
