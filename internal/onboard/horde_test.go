package onboard_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A real consumer of the autoconfig format: Horde's
// Horde_Mail_Autoconfig_Driver_Thunderbird (Debian package
// php-horde-mail-autoconfig, with php-cli). It fetches
// http://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=ADDR; its
// HTTP client is pointed at the test server as a proxy, so the request
// reaches Roost with that Host header, as through DNS.
const hordeScript = `<?php
spl_autoload_register(function ($c) { $f = str_replace('_', '/', $c) . '.php'; if (stream_resolve_include_path($f)) { require_once $f; } });
$d = new Horde_Mail_Autoconfig_Driver_Thunderbird();
$d->ispdb = 'http://ispdb.invalid/';
$d->http = new Horde_Http_Client(array('request.proxyServer' => $argv[1], 'request.proxyPort' => (int)$argv[2], 'request.timeout' => 5));
$email = new Horde_Mail_Rfc822_Address($argv[3]);
$in = $d->mailSearch(array($email->host), array('email' => $email));
$out = $d->msaSearch(array($email->host), array('email' => $email));
foreach (array_merge($in ?: array(), $out ?: array()) as $s) {
	echo get_class($s), " ", $s->host, " ", $s->port, " ", $s->tls ? "tls" : "starttls", " ", $s->username, "\n";
}
`

func TestAutoconfigHorde(t *testing.T) {
	t.Parallel()
	const driver = "/usr/share/php/Horde/Mail/Autoconfig/Driver/Thunderbird.php"
	_, errPHP := exec.LookPath("php")
	if _, err := os.Stat(driver); err != nil || errPHP != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("php-horde-mail-autoconfig (and php-cli) not installed and ROOST_REQUIRE_CLIENTS is set")
		}
		t.Skip("php-horde-mail-autoconfig not installed")
	}
	e := newEnv(t)
	u, _ := url.Parse(e.srv.URL)
	script := filepath.Join(t.TempDir(), "horde.php")
	if err := os.WriteFile(script, []byte(hordeScript), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("php", "-d", "include_path=.:/usr/share/php", script, u.Hostname(), u.Port(), "alice@example.org").CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	want := `Horde_Mail_Autoconfig_Server_Imap mail.example.net 993 tls alice@example.org
Horde_Mail_Autoconfig_Server_Imap mail.example.net 143 starttls alice@example.org
Horde_Mail_Autoconfig_Server_Pop3 mail.example.net 995 tls alice@example.org
Horde_Mail_Autoconfig_Server_Msa mail.example.net 465 tls alice@example.org
Horde_Mail_Autoconfig_Server_Msa mail.example.net 587 starttls alice@example.org
`
	if string(out) != want {
		t.Errorf("Horde read\n%s\nwant\n%s", out, want)
	}
	// An unknown domain: Horde finds nothing.
	out, err = exec.Command("php", "-d", "include_path=.:/usr/share/php", script, u.Hostname(), u.Port(), "eve@unknown.test").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("unknown domain: %v %s", err, out)
	}
}
