package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/config"
)

// writeConfig writes text to a config file in a fresh temporary directory.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roost.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problems loads text and returns the problems Load reports.
func problems(t *testing.T, text string) []config.Problem {
	t.Helper()
	path := writeConfig(t, text)
	c, err := config.Load(path)
	if err == nil {
		return nil
	}
	if c != nil {
		t.Errorf("Load returned a config and an error")
	}
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load: %v (%T), want *ValidationError", err, err)
	}
	if ve.File != path {
		t.Errorf("ValidationError.File = %q, want %q", ve.File, path)
	}
	return ve.Problems
}

func TestLoadEmptyPathIsDefault(t *testing.T) {
	t.Parallel()
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("Load(\"\") = %+v, want Default()", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	t.Parallel()
	c, err := config.Load(writeConfig(t, "# nothing set\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("empty file = %+v, want Default()", c)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := config.Load(filepath.Join(t.TempDir(), "absent.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want an os.ErrNotExist error", err)
	}
}

// TestDefaultsRoundTrip writes every key at its documented default and
// checks that Load yields Default(): the default tags, Fields().Default and
// the decoder agree.
func TestDefaultsRoundTrip(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, f := range config.Fields() {
		fmt.Fprintf(&b, "%s = %s\n", f.Key, f.Default)
	}
	c, err := config.Load(writeConfig(t, b.String()))
	if err != nil {
		t.Fatalf("%v\nfile:\n%s", err, b.String())
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("round trip = %+v\nwant %+v", c, config.Default())
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := config.Default()
	if c.DataDir != "./roost-data" || c.IMAPListen != "127.0.0.1:1143" || c.LoginnameFormat != "%u" ||
		c.SoftdeleteLifetime != 30 || c.MaxLineLength != 65536 || c.MaxMessageSize != 50 ||
		c.LogFile != "-" || c.AllowPlaintextAuth || !slices.Equal(c.Roles, []string{"all"}) ||
		len(c.DisabledFeatures) != 0 {
		t.Errorf("Default() = %+v", c)
	}
	// Default must hand out fresh slices.
	c.Roles[0] = "imap"
	if config.Default().Roles[0] != "all" {
		t.Error("Default() shares its Roles slice")
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	fs := config.Fields()
	byKey := map[string]config.Field{}
	for _, f := range fs {
		if f.Key == "" || f.Type == "" || f.Doc == "" || f.Default == "" {
			t.Errorf("incomplete field %+v", f)
		}
		byKey[f.Key] = f
	}
	for key, want := range map[string]config.Field{
		"roles":                {Key: "roles", Type: "list of strings", Default: `["all"]`},
		"disabled_features":    {Key: "disabled_features", Type: "list of strings", Default: `[]`},
		"imap_listen":          {Key: "imap_listen", Type: "string", Default: `"127.0.0.1:1143"`},
		"quota_hard":           {Key: "quota_hard", Type: "integer", Default: `0`, Reloadable: true},
		"log_level":            {Key: "log_level", Type: "string", Default: `"info"`, Reloadable: true},
		"allow_plaintext_auth": {Key: "allow_plaintext_auth", Type: "boolean", Default: `false`},
	} {
		got := byKey[key]
		got.Doc = ""
		if got != want {
			t.Errorf("field %s = %+v, want %+v", key, got, want)
		}
	}
	reloadable := map[string]bool{}
	for _, f := range fs {
		if f.Reloadable {
			reloadable[f.Key] = true
		}
	}
	for _, k := range []string{"loginname_format", "softdelete_lifetime", "quota_warn", "quota_soft", "quota_hard", "companyquota_warn", "log_level"} {
		if !reloadable[k] {
			t.Errorf("%s is not reloadable", k)
		}
	}
	for _, k := range []string{"data_dir", "database", "roles", "imap_listen", "ssl_certificate_file", "log_file", "log_format", "user_plugin"} {
		if reloadable[k] {
			t.Errorf("%s is reloadable", k)
		}
	}
}

// TestLoadAllKeys sets every key to a valid value other than its default.
func TestLoadAllKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir)
	caFile := certFile
	text := fmt.Sprintf(`
data_dir = %[1]q
database = "postgresql://roost:pw@db.example.com:5432/roost?sslmode=require"
roles = ["imap", "lmtp", "jobs"]
imap_listen = ":143"
imaps_listen = "[::1]:993"
pop3_listen = "off"
pop3s_listen = ""
submission_listen = "0.0.0.0:587"
submissions_listen = "localhost:465"
lmtp_listen = "127.0.0.1:0"
lmtp_socket = %[2]q
http_listen = "127.0.0.1:0"
https_listen = ":443"
managesieve_listen = ":4190"
admin_socket = %[3]q
admin_listen = ":8444"
ssl_certificate_file = %[4]q
ssl_private_key_file = %[5]q
ssl_ca_file = %[6]q
ssl_client_certificate_file = %[4]q
ssl_client_key_file = %[5]q
lmtp_require_client_certificate = true
server_name = "mail.example.com"
public_hostname = "mail.example.net"
public_ports = ["imaps=993", "https=443"]
loginname_format = "%%u@%%c"
user_plugin = "ldap"
ldap_preset = "ad"
ldap_uri = "ldap://dc1.example.com ldap://dc2.example.com"
ldap_starttls = true
ldap_tls_cacert = %[6]q
ldap_bind_user = "cn=roost,dc=example,dc=com"
ldap_bind_passwd = "secret"
ldap_search_base = "dc=example,dc=com"
ldap_user_search_filter = "(objectClass=person)"
ldap_user_unique_attribute = "objectGUID"
ldap_loginname_attribute = "userPrincipalName"
ldap_emailaddress_attribute = "mail"
ldap_emailaliases_attribute = "proxyAddresses"
ldap_fullname_attribute = "displayName"
ldap_nonactive_attribute = "userAccountControl"
ldap_nonactive_value = "514"
ldap_nonactive_bitmask = 2
ldap_isadmin_attribute = "roostAdmin"
ldap_network_timeout = 3
ldap_tenant = "example"
ldap_group_search_filter = "(objectClass=group)"
ldap_groupname_attribute = "sAMAccountName"
ldap_group_unique_attribute = "objectSid"
ldap_group_emailaddress_attribute = "mail"
ldap_groupmembers_attribute = "memberUid"
ldap_groupmembers_attribute_type = "text"
ldap_groupmembers_relation_attribute = "uid"
ldap_group_security_attribute = "kopanoSecurityGroup"
ldap_group_security_attribute_type = "boolean"
ldap_group_hidden_attribute = "kopanoHidden"
ldap_sendas_attribute = "kopanoSendAsPrivilege"
ldap_sendas_attribute_type = "text"
ldap_sendas_relation_attribute = "uid"
ldap_page_size = 900
ldap_sync_interval = 60
ldap_quotaoverride_attribute = "kopanoQuotaOverride"
ldap_warnquota_attribute = "kopanoQuotaWarn"
ldap_softquota_attribute = "kopanoQuotaSoft"
ldap_hardquota_attribute = "kopanoQuotaHard"
ldap_quota_multiplier = 1024
ldap_enabled_features_attribute = "kopanoEnabledFeatures"
ldap_disabled_features_attribute = "kopanoDisabledFeatures"
ldap_user_server_attribute = "kopanoUserServer"
ldap_dynamicgroup_search_filter = "(objectClass=kopano-dynamicgroup)"
ldap_company_search_filter = "(objectClass=kopano-company)"
ldap_contact_search_filter = "(objectClass=kopano-contact)"
ldap_addresslist_search_filter = "(objectClass=kopano-addresslist)"
ldap_addresslist_name_attribute = "displayName"
ldap_addresslist_filter_attribute = "zarafaFilter"
ldap_companyname_attribute = "o"
ldap_dynamicgroup_name_attribute = "displayName"
ldap_dynamicgroup_filter_attribute = "zarafaFilter"
ldap_dynamicgroup_unique_attribute = "cn"
ldap_dynamicgroup_search_base_attribute = "zarafaBase"
ldap_addresslist_search_base_attribute = "zarafaBase"
ldap_company_unique_attribute = "ou"
ldap_company_scope = "one"
ldap_company_view_attribute = "kopanoViewPrivilege"
ldap_company_view_attribute_type = "dn"
ldap_company_view_relation_attribute = "o"
ldap_company_admin_attribute = "kopanoAdminPrivilege"
ldap_company_admin_attribute_type = "dn"
ldap_company_admin_relation_attribute = "mail"
ldap_userdefault_quotaoverride_attribute = "kopanoUserDefaultQuotaOverride"
ldap_userdefault_warnquota_attribute = "kopanoUserDefaultQuotaWarn"
ldap_userdefault_softquota_attribute = "kopanoUserDefaultQuotaSoft"
ldap_userdefault_hardquota_attribute = "kopanoUserDefaultQuotaHard"
unix_passwd_file = "/srv/passwd"
unix_shadow_file = "/srv/shadow"
unix_group_file = "/srv/group"
unix_min_user_uid = 2000
unix_max_user_uid = 3000
unix_min_group_gid = 2000
unix_max_group_gid = 3000
unix_non_login_shell = ["/bin/nologin"]
unix_except_user_uids = [2001, 2005]
unix_except_group_gids = [2500]
unix_default_domain = "example.net"
unix_tenant = "unixers"
ldap_auth_cache_ttl = 60
default_store_locale = "de_DE"
softdelete_lifetime = 0
quota_warn = 900
quota_soft = 950
quota_hard = 1000
companyquota_warn = 50000
quota_messages = 100000
quota_hard_tempfail = true
log_level = 6
log_file = %[7]q
log_format = "json"
allow_plaintext_auth = true
sasl_oauthbearer = false
oidc_issuer = "https://idp.example.com/realms/roost"
oidc_provider_issuer = "https://mail.example.com"
oidc_client_id = "roost"
oidc_client_secret = "s3cret"
oidc_audiences = ["roost", "mail"]
oidc_scopes = ["openid", "email"]
oidc_login_claim = "preferred_username"
oidc_introspection_url = "https://idp.example.com/introspect"
oidc_redirect_uri = "https://mail.example.com/auth/oidc/callback"
max_connections_per_ip = 0
max_connections_per_user = 5
max_line_length = 8192
max_message_size = 100
disabled_features = ["pop3", "mobile"]
spam_headers = ["X-Spam: Yes"]
jmap_push_allowed_networks = ["10.9.0.0/16", "fd00::/8"]
proxy_protocol_trusted = ["10.0.0.5", "10.1.0.0/24"]
jmap_send_delay = 20
spam_checker = "/usr/bin/spamc -c"
spam_checker_timeout = 5
spam_rspamd_url = "http://127.0.0.1:11333"
spam_learn_rspamd_url = "http://127.0.0.1:11334"
spam_learn_rspamd_password = "secret"
spam_learn_spam_command = "/usr/bin/sa-learn --spam"
spam_learn_ham_command = "/usr/bin/sa-learn --ham"
spam_learn_queue = 10
spam_learn_timeout = 9
autorespond_timelimit = 3600
autorespond_cc = true
autorespond_norecip = true
sieve_max_script_size = 128
sieve_max_scripts = 5
sieve_max_redirects = 2
search_index = false
search_workers = 3
search_max_attachment_size = 5
search_max_text = 256
search_document_timeout = 30
delivery_hook_command = "/usr/local/bin/hook --x"
delivery_hook_url = "https://hooks.example.com/in"
delivery_hook_timeout = 10
public_delivery = ["sales@example.com=Sales/Incoming"]
quota_monitor_interval = 0
dav_max_resource_size = 20
smtp_server = "relay.example.com:587"
smtp_tls = "tls"
smtp_username = "roost"
smtp_password = "secret"
queue_workers = 8
queue_retry_base = 1
queue_retry_max = 60
queue_lifetime = 48
queue_delay_warning = 2
queue_claim_lease = 600
submission_max_recipients = 500
submission_sent_copy = false
dav_max_results = 1000
dav_max_instances = 500
dav_auth_cache_ttl = 30
auth_cache_size = 500
auth_cache_ttl = 600
password_argon2_memory = 65536
password_argon2_time = 3
password_argon2_threads = 2
dav_schedule_inbox_days = 7
activesync_require_pin = true
activesync_min_pin_length = 6
activesync_alphanumeric_pin = true
activesync_require_encryption = true
activesync_max_failed_pins = 8
activesync_max_inactivity_lock = 900
quota_warning_from = "Helpdesk <help@example.com>"
archive_interval = 60
archive_after = 90
archive_min_size = 100
archive_exclude_folders = ["trash", "Projects/Secret"]
archive_stub_after = 180
archive_remove_after = 365
archive_on_delivery = true
archive_on_send = true
metrics_listen = "127.0.0.1:9154"
log_levels = ["imap=debug", "queue=warn"]
audit_log_file = %[8]q
node_name = "node-a"
node_address = "10.0.0.5"
node_heartbeat = 2
drain_grace = 30
http_routing = "redirect"
public_url = "https://node-a.example.org"
proxy_url = "https://proxy.example.org/node-a"
proxy_header = "X-Via-Proxy"
node_roles = ["frontend", "backend"]
shard_secret_file = "/etc/roost/shard.key"
blob_store = "s3"
s3_endpoint = "s3.example.com:9000"
s3_bucket = "mail"
s3_prefix = "roost/"
s3_region = "eu-central-1"
s3_access_key = "AKIA"
s3_secret_key = "ignored-when-the-file-is-set"
s3_secret_key_file = "/etc/roost/s3.key"
s3_tls = false
s3_ca_file = %[6]q
kerberos_keytab = %[6]q
kerberos_principals = ["imap/mail.example.org@EXAMPLE.ORG"]
kerberos_realms = ["EXAMPLE.ORG"]
kerberos_map = ["bob@AD.EXAMPLE.ORG=bob@example.org"]
`, dir, filepath.Join(dir, "l.sock"), filepath.Join(dir, "a.sock"), certFile, keyFile, caFile, filepath.Join(dir, "roost.log"), filepath.Join(dir, "audit.log"))
	c, err := config.Load(writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	rc, rd := reflect.ValueOf(c).Elem(), reflect.ValueOf(def).Elem()
	if !slices.Equal(c.UnixExceptUserUIDs, []int{2001, 2005}) || !slices.Equal(c.UnixExceptGroupGIDs, []int{2500}) {
		t.Errorf("unix except lists = %v, %v", c.UnixExceptUserUIDs, c.UnixExceptGroupGIDs)
	}
	for i := range rc.NumField() {
		if reflect.DeepEqual(rc.Field(i).Interface(), rd.Field(i).Interface()) {
			t.Errorf("field %s kept its default %v", rc.Type().Field(i).Name, rd.Field(i))
		}
	}
	if c.LogLevel != "6" || c.SlogLevel().String() != "DEBUG" {
		t.Errorf("log_level = %q (%v), want \"6\" (DEBUG)", c.LogLevel, c.SlogLevel())
	}
	if drv, dsn := c.DatabaseURL(); drv != "postgres" || dsn != c.Database {
		t.Errorf("DatabaseURL() = %q, %q", drv, dsn)
	}
	if c.LMTPSocket() != filepath.Join(dir, "l.sock") || c.AdminSocket() != filepath.Join(dir, "a.sock") {
		t.Errorf("sockets = %q, %q", c.LMTPSocket(), c.AdminSocket())
	}
	if c.Listener("pop3") != "" || c.Listener("pop3s") != "" || c.Listener("imap") != ":143" || c.Listener("nonsense") != "" {
		t.Errorf("Listener: pop3 %q pop3s %q imap %q", c.Listener("pop3"), c.Listener("pop3s"), c.Listener("imap"))
	}
	if !c.HasRole("lmtp") || c.HasRole("http") {
		t.Errorf("HasRole wrong for roles %v", c.Roles)
	}
	if c.Hostname() != "mail.example.com" {
		t.Errorf("Hostname() = %q", c.Hostname())
	}
	if c.MaxMessageBytes() != 100<<20 {
		t.Errorf("MaxMessageBytes() = %d", c.MaxMessageBytes())
	}
}

func TestHelpersOnDefaults(t *testing.T) {
	t.Parallel()
	c := config.Default()
	if drv, dsn := c.DatabaseURL(); drv != "sqlite" || dsn != filepath.Join("roost-data", "roost.db") {
		t.Errorf("DatabaseURL() = %q, %q", drv, dsn)
	}
	if c.LMTPSocket() != filepath.Join("roost-data", "lmtp.sock") || c.AdminSocket() != filepath.Join("roost-data", "admin.sock") {
		t.Errorf("sockets = %q, %q", c.LMTPSocket(), c.AdminSocket())
	}
	for _, r := range []string{"imap", "jobs", "admin", "anything"} {
		if !c.HasRole(r) {
			t.Errorf("HasRole(%q) = false with roles = [\"all\"]", r)
		}
	}
	if c.Listener("admin") != "" || c.Listener("https") != "127.0.0.1:8443" {
		t.Errorf("Listener admin %q https %q", c.Listener("admin"), c.Listener("https"))
	}
	if c.Hostname() == "" {
		t.Error("Hostname() is empty")
	}
	if c.SlogLevel().String() != "INFO" {
		t.Errorf("SlogLevel() = %v", c.SlogLevel())
	}
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ db, driver, dsn string }{
		{"sqlite:///var/lib/roost/meta.db", "sqlite", "/var/lib/roost/meta.db"},
		{"sqlite://rel/meta.db?_pragma=busy_timeout(5000)", "sqlite", "rel/meta.db?_pragma=busy_timeout(5000)"},
		{"postgres://u:p@h/db", "postgres", "postgres://u:p@h/db"},
		{"postgresql:///db?host=/run/postgresql", "postgres", "postgresql:///db?host=/run/postgresql"},
	} {
		c, err := config.Load(writeConfig(t, fmt.Sprintf("database = %q\n", tc.db)))
		if err != nil {
			t.Errorf("database = %q: %v", tc.db, err)
			continue
		}
		if drv, dsn := c.DatabaseURL(); drv != tc.driver || dsn != tc.dsn {
			t.Errorf("database = %q: DatabaseURL() = %q, %q; want %q, %q", tc.db, drv, dsn, tc.driver, tc.dsn)
		}
	}
}

func TestLogLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, want string }{
		{`"debug"`, "DEBUG"}, {`"info"`, "INFO"}, {`"warn"`, "WARN"}, {`"error"`, "ERROR"},
		{`0`, "ERROR"}, {`1`, "ERROR"}, {`2`, "ERROR"}, {`3`, "WARN"}, {`4`, "INFO"}, {`5`, "INFO"}, {`6`, "DEBUG"},
		{`"6"`, "DEBUG"},
	} {
		c, err := config.Load(writeConfig(t, "log_level = "+tc.value+"\n"))
		if err != nil {
			t.Errorf("log_level = %s: %v", tc.value, err)
			continue
		}
		if got := c.SlogLevel().String(); got != tc.want {
			t.Errorf("log_level = %s: SlogLevel() = %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	old := config.Default()
	next := config.Default()
	next.LogLevel = "debug"
	next.QuotaHard = 500
	next.LoginnameFormat = "%u@%c"
	next.IMAPListen = ":143"
	next.Roles = []string{"imap"}
	next.AllowPlaintextAuth = true

	applied, notReloaded := config.Reload(old, next)
	if want := []string{"roles", "imap_listen", "allow_plaintext_auth"}; !slices.Equal(notReloaded, want) {
		t.Errorf("notReloaded = %q, want %q", notReloaded, want)
	}
	if applied.LogLevel != "debug" || applied.QuotaHard != 500 || applied.LoginnameFormat != "%u@%c" {
		t.Errorf("reloadable keys not applied: %+v", applied)
	}
	if applied.IMAPListen != old.IMAPListen || !slices.Equal(applied.Roles, old.Roles) || applied.AllowPlaintextAuth {
		t.Errorf("non-reloadable keys changed: %+v", applied)
	}
	if applied == old || !reflect.DeepEqual(old, config.Default()) {
		t.Error("Reload modified old")
	}
	applied.Roles[0] = "pop3"
	if old.Roles[0] != "all" {
		t.Error("applied shares a slice with old")
	}

	same, none := config.Reload(old, config.Default())
	if none != nil || !reflect.DeepEqual(same, old) {
		t.Errorf("Reload of identical configs = %+v, %q", same, none)
	}
	// nil and empty lists are the same value.
	withNil := config.Default()
	withNil.DisabledFeatures = nil
	if _, diff := config.Reload(old, withNil); diff != nil {
		t.Errorf("nil vs empty disabled_features reported as a change: %q", diff)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	t.Parallel()
	e := &config.ValidationError{File: "/etc/roost.toml", Problems: []config.Problem{
		{Key: "a", Message: "bad"},
		{Key: "b", Message: "worse"},
		{Message: "line 3: syntax"},
	}}
	want := "config: /etc/roost.toml: key \"a\": bad\n" +
		"config: /etc/roost.toml: key \"b\": worse\n" +
		"config: /etc/roost.toml: line 3: syntax"
	if e.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", e.Error(), want)
	}
	e.File = ""
	if got := e.Error(); !strings.HasPrefix(got, `config: key "a": bad`) {
		t.Errorf("Error() without file = %q", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.QuotaWarn = -1
	c.LogFormat = "xml"
	err := c.Validate()
	var ve *config.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || ve.File != "" {
		t.Fatalf("Validate() = %v", err)
	}
}

// The doc of log_levels names every subsystem validation accepts.
func TestLogLevelsDocNamesSubsystems(t *testing.T) {
	t.Parallel()
	for _, f := range config.Fields() {
		if f.Key != "log_levels" {
			continue
		}
		for _, s := range config.LogSubsystems {
			if !strings.Contains(f.Doc, "'"+s+"'") {
				t.Errorf("log_levels doc does not name %q", s)
			}
		}
		return
	}
	t.Fatal("no log_levels key")
}
