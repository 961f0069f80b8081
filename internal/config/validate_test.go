package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/config"
)

// want is one expected problem: its key and a part of its message.
type want struct{ key, msg string }

var long = strings.Repeat("d", 120)

// validationCases holds at least one bad value for every key;
// TestEveryKeyHasABadValue keeps it that way.
var validationCases = []struct {
	name string
	text string
	want []want
}{
	{"kerberos keytab missing", `kerberos_keytab = "/nonexistent/roost.keytab"`, []want{{"kerberos_keytab", "does not exist"}}},
	{"kerberos principal", `kerberos_principals = ["imap@EXAMPLE.ORG"]`, []want{{"kerberos_principals", "not service/host@REALM"}}},
	{"kerberos realm", `kerberos_realms = ["alice@EXAMPLE.ORG"]`, []want{{"kerberos_realms", "not a realm name"}}},
	{"kerberos map", `kerberos_map = ["alice=bob"]`, []want{{"kerberos_map", "not principal@REALM=login"}}},
	{"empty data_dir", `data_dir = ""`, []want{{"data_dir", "must not be empty"}}},
	{"node_name with space", `node_name = "a b"`, []want{{"node_name", "without spaces"}}},
	{"http_routing", `http_routing = "bounce"`, []want{{"http_routing", "not allowed"}}},
	{"public_url not a URL", `public_url = "node-b.example.org"`, []want{{"public_url", "not an http or https URL"}}},
	{"public_url with a path", `public_url = "https://node-b.example.org/b"`, []want{{"public_url", "has no path"}}},
	{"proxy_url with a query", `proxy_url = "https://proxy.example.org/b?x=1"`, []want{{"proxy_url", "without query"}}},
	{"proxy_header", `proxy_header = "X Via"`, []want{{"proxy_header", "not a header name"}}},
	{"node_address with comma", `node_address = "a,b"`, []want{{"node_address", "no spaces or commas"}}},
	{"node_heartbeat zero", `node_heartbeat = 0`, []want{{"node_heartbeat", "from 1 to 300"}}},
	{"node_roles unknown", "node_roles = [\"director\"]\nshard_secret_file = \"/etc/roost/shard.key\"\nblob_store = \"s3\"\ns3_endpoint = \"s3:9000\"\ns3_bucket = \"mail\"\ns3_access_key = \"k\"\ns3_secret_key = \"s\"", []want{{"node_roles", "not allowed"}}},
	{"node_roles without s3", "node_roles = [\"backend\"]\nshard_secret_file = \"/etc/roost/shard.key\"", []want{{"node_roles", "blob_store"}}},
	{"shard_secret_file missing", "node_roles = [\"frontend\"]\nblob_store = \"s3\"\ns3_endpoint = \"s3:9000\"\ns3_bucket = \"mail\"\ns3_access_key = \"k\"\ns3_secret_key = \"s\"", []want{{"shard_secret_file", "required with node_roles"}}},
	{"shard_secret_file relative", "node_roles = [\"backend\"]\nshard_secret_file = \"shard.key\"\nblob_store = \"s3\"\ns3_endpoint = \"s3:9000\"\ns3_bucket = \"mail\"\ns3_access_key = \"k\"\ns3_secret_key = \"s\"", []want{{"shard_secret_file", "absolute path"}}},
	{"drain_grace negative", `drain_grace = -1`, []want{{"drain_grace", "from 0 to 86400"}}},
	{"blob_store unknown", `blob_store = "nfs"`, []want{{"blob_store", "want \"file\" or \"s3\""}}},
	{"s3 without keys", `blob_store = "s3"`, []want{{"s3_endpoint", "required"}, {"s3_bucket", "required"},
		{"s3_access_key", "required"}, {"s3_secret_key", "required"}}},
	{"s3_secret_key_file relative", `s3_secret_key_file = "s3.key"`, []want{{"s3_secret_key_file", "absolute path"}}},
	{"s3_endpoint url", "blob_store = \"s3\"\ns3_endpoint = \"https://s3/x\"\ns3_bucket = \"mail\"\ns3_access_key = \"a\"\ns3_secret_key = \"x\"",
		[]want{{"s3_endpoint", "without a scheme"}}},
	{"s3_bucket uppercase", `s3_bucket = "Mail"`, []want{{"s3_bucket", "not a bucket name"}}},
	{"s3_prefix slash", `s3_prefix = "/roost"`, []want{{"s3_prefix", "does not start with"}}},
	{"s3_region bad", `s3_region = "EU Central"`, []want{{"s3_region", "not a region name"}}},
	{"s3_secret_key newline", "s3_secret_key = \"a\\nb\"", []want{{"s3_secret_key", "line break"}}},
	{"s3_tls string", `s3_tls = "yes"`, []want{{"s3_tls", "want true or false"}}},
	{"s3_ca_file missing", `s3_ca_file = "/nonexistent/ca.pem"`, []want{{"s3_ca_file", "does not exist"}}},
	{"jmap_send_delay too long", `jmap_send_delay = 601`, []want{{"jmap_send_delay", "more than the maximum of 600"}}},
	{"jmap_push_allowed_networks not CIDR", `jmap_push_allowed_networks = ["10.9.0.0"]`, []want{{"jmap_push_allowed_networks", "not a network in CIDR notation"}}},
	{"proxy_protocol_trusted not a network", `proxy_protocol_trusted = ["10.0.0.5", "10.1.0.0/33", "lb1"]`, []want{{"proxy_protocol_trusted", `"10.1.0.0/33" is neither`}, {"proxy_protocol_trusted", `"lb1" is neither`}}},
	{"spam_headers without colon", `spam_headers = ["X-Spam-Flag YES"]`, []want{{"spam_headers", "not 'Field: value'"}}},
	{"spam_checker relative", `spam_checker = "spamc -c"`, []want{{"spam_checker", "absolute path"}}},
	{"spam_checker_timeout zero", `spam_checker_timeout = 0`, []want{{"spam_checker_timeout", "less than the minimum of 1"}}},
	{"spam_rspamd_url not http", `spam_rspamd_url = "127.0.0.1:11333"`, []want{{"spam_rspamd_url", "not an http"}}},
	{"spam_learn_rspamd_url not http", `spam_learn_rspamd_url = "ftp://x/"`, []want{{"spam_learn_rspamd_url", "not an http"}}},
	{"spam_learn_rspamd_password alone", `spam_learn_rspamd_password = "p"`, []want{{"spam_learn_rspamd_password", "without spam_learn_rspamd_url"}}},
	{"spam_learn_spam_command relative", `spam_learn_spam_command = "sa-learn --spam"`, []want{{"spam_learn_spam_command", "absolute path"}}},
	{"spam_learn_ham_command relative", `spam_learn_ham_command = "sa-learn --ham"`, []want{{"spam_learn_ham_command", "absolute path"}}},
	{"spam_learn_queue zero", `spam_learn_queue = 0`, []want{{"spam_learn_queue", "less than the minimum of 1"}}},
	{"spam_learn_timeout zero", `spam_learn_timeout = 0`, []want{{"spam_learn_timeout", "less than the minimum of 1"}}},
	{"autorespond_timelimit negative", `autorespond_timelimit = -1`, []want{{"autorespond_timelimit", "less than the minimum of 0"}}},
	{"autorespond_cc string", `autorespond_cc = "yes"`, []want{{"autorespond_cc", "want true or false"}}},
	{"autorespond_norecip number", `autorespond_norecip = 1`, []want{{"autorespond_norecip", "want true or false"}}},
	{"sieve_max_script_size huge", `sieve_max_script_size = 4096`, []want{{"sieve_max_script_size", "1024 KB"}}},
	{"sieve_max_scripts zero", `sieve_max_scripts = 0`, []want{{"sieve_max_scripts", "less than the minimum of 1"}}},
	{"sieve_max_redirects negative", `sieve_max_redirects = -2`, []want{{"sieve_max_redirects", "less than the minimum of 0"}}},
	{"search_index string", `search_index = "yes"`, []want{{"search_index", "want true or false"}}},
	{"search_workers zero", `search_workers = 0`, []want{{"search_workers", "less than the minimum of 1"}}},
	{"search_max_attachment_size zero", `search_max_attachment_size = 0`, []want{{"search_max_attachment_size", "less than the minimum of 1"}}},
	{"search_max_text negative", `search_max_text = -1`, []want{{"search_max_text", "less than the minimum of 1"}}},
	{"search_document_timeout zero", `search_document_timeout = 0`, []want{{"search_document_timeout", "less than the minimum of 1"}}},
	{"delivery_hook_command relative", `delivery_hook_command = "hook.sh"`, []want{{"delivery_hook_command", "absolute path"}}},
	{"delivery_hook_url scheme", `delivery_hook_url = "ftp://example.test/x"`, []want{{"delivery_hook_url", "not an http"}}},
	{"delivery_hook_timeout zero", `delivery_hook_timeout = 0`, []want{{"delivery_hook_timeout", "less than the minimum of 1"}}},
	{"public_delivery without folder", `public_delivery = ["sales@acme.test"]`, []want{{"public_delivery", "not 'address=Folder/Path'"}}},
	{"smtp_server with path", `smtp_server = "relay.example.com/x"`, []want{{"smtp_server", "not 'host' or 'host:port'"}}},
	{"smtp_tls unknown", `smtp_tls = "ssl"`, []want{{"smtp_tls", `"ssl" is not allowed`}}},
	{"smtp_username without server", `smtp_username = "roost"`, []want{{"smtp_username", "smtp_server is empty"}}},
	{"smtp_password without username", "smtp_server = \"relay\"\nsmtp_password = \"x\"", []want{{"smtp_password", "without smtp_username"}}},
	{"queue_workers zero", `queue_workers = 0`, []want{{"queue_workers", "less than the minimum of 1"}}},
	{"queue_retry_base zero", `queue_retry_base = 0`, []want{{"queue_retry_base", "less than the minimum of 1"}}},
	{"queue_retry_max below base", "queue_retry_base = 30\nqueue_retry_max = 10", []want{{"queue_retry_max", "below queue_retry_base"}}},
	{"queue_lifetime zero", `queue_lifetime = 0`, []want{{"queue_lifetime", "less than the minimum of 1"}}},
	{"queue_claim_lease short", `queue_claim_lease = 5`, []want{{"queue_claim_lease", "less than the minimum of 10"}}},
	{"queue_delay_warning zero", `queue_delay_warning = 0`, []want{{"queue_delay_warning", "less than the minimum of 1"}}},
	{"submission_max_recipients zero", `submission_max_recipients = 0`, []want{{"submission_max_recipients", "less than the minimum of 1"}}},
	{"submission_sent_copy string", `submission_sent_copy = "no"`, []want{{"submission_sent_copy", "want true or false"}}},
	{"quota_hard_tempfail string", `quota_hard_tempfail = "yes"`, []want{{"quota_hard_tempfail", "want true or false"}}},
	{"dav_max_resource_size zero", `dav_max_resource_size = 0`, []want{{"dav_max_resource_size", "less than the minimum of 1"}}},
	{"dav_max_results tiny", `dav_max_results = 10`, []want{{"dav_max_results", "less than the minimum of 100"}}},
	{"dav_max_instances tiny", `dav_max_instances = 1`, []want{{"dav_max_instances", "less than the minimum of 10"}}},
	{"dav_auth_cache_ttl negative", `dav_auth_cache_ttl = -1`, []want{{"dav_auth_cache_ttl", "less than the minimum of 0"}}},
	{"auth_cache_size negative", `auth_cache_size = -1`, []want{{"auth_cache_size", "less than the minimum of 0"}}},
	{"auth_cache_ttl negative", `auth_cache_ttl = -1`, []want{{"auth_cache_ttl", "less than the minimum of 0"}}},
	{"password_argon2_memory below 8 per lane", "password_argon2_threads = 4\npassword_argon2_memory = 31", []want{{"password_argon2_memory", "less than the minimum of 32"}}},
	{"password_argon2_memory huge", `password_argon2_memory = 4194305`, []want{{"password_argon2_memory", "more than the maximum"}}},
	{"password_argon2_time zero", `password_argon2_time = 0`, []want{{"password_argon2_time", "less than the minimum of 1"}}},
	{"password_argon2_time huge", `password_argon2_time = 17`, []want{{"password_argon2_time", "more than the maximum of 16"}}},
	{"password_argon2_threads zero", `password_argon2_threads = 0`, []want{{"password_argon2_threads", "less than the minimum of 1"}}},
	{"password_argon2_threads huge", `password_argon2_threads = 256`, []want{{"password_argon2_threads", "more than the maximum of 255"}}},
	{"dav_schedule_inbox_days negative", `dav_schedule_inbox_days = -1`, []want{{"dav_schedule_inbox_days", "less than the minimum of 0"}}},
	{"quota_monitor_interval negative", `quota_monitor_interval = -5`, []want{{"quota_monitor_interval", "less than the minimum of 0"}}},
	{"archive_interval negative", `archive_interval = -1`, []want{{"archive_interval", "less than the minimum of 0"}}},
	{"archive_after negative", `archive_after = -1`, []want{{"archive_after", "less than the minimum of 0"}}},
	{"archive_min_size negative", `archive_min_size = -1`, []want{{"archive_min_size", "less than the minimum of 0"}}},
	{"archive_exclude_folders empty level", `archive_exclude_folders = ["Projects//Secret"]`, []want{{"archive_exclude_folders", "empty level"}}},
	{"archive_stub_after before archive_after", `archive_stub_after = 10`, []want{{"archive_stub_after", "at least 'archive_after'"}}},
	{"archive_remove_after before archive_after", "archive_after = 60\narchive_remove_after = 30", []want{{"archive_remove_after", "at least 'archive_after'"}}},
	{"archive_on_delivery string", `archive_on_delivery = "yes"`, []want{{"archive_on_delivery", "want true or false"}}},
	{"archive_on_send string", `archive_on_send = 1`, []want{{"archive_on_send", "want true or false"}}},
	{"quota_warning_from bad", `quota_warning_from = "postmaster at example"`, []want{{"quota_warning_from", "not a mail address"}}},
	{"control char in data_dir", `data_dir = "a\tb"`, []want{{"data_dir", "control characters"}}},
	{"data_dir wrong type", `data_dir = 5`, []want{{"data_dir", "want a string in quotes, not the number 5"}}},
	{"database scheme", `database = "mysql://u@h/db"`, []want{{"database", `unsupported scheme "mysql"`}}},
	{"database plain path", `database = "/var/lib/roost.db"`, []want{{"database", "not a URL"}}},
	{"database sqlite without file", `database = "sqlite://"`, []want{{"database", "names no file"}}},
	{"database bad postgres URL", `database = "postgres://u:secret@h:port/db"`, []want{{"database", "invalid PostgreSQL URL"}}},
	{"unknown role", `roles = ["imap", "smtp"]`, []want{{"roles", `"smtp" is not allowed`}}},
	{"no roles", `roles = []`, []want{{"roles", "at least one role"}}},
	{"roles as string", `roles = "all"`, []want{{"roles", "want a list of strings"}}},
	{"roles with number", `roles = ["imap", 3]`, []want{{"roles", "item 2: want a string"}}},
	{"imap_listen no port", `imap_listen = "127.0.0.1"`, []want{{"imap_listen", "invalid address"}}},
	{"imaps_listen port range", `imaps_listen = "127.0.0.1:99999"`, []want{{"imaps_listen", "invalid port"}}},
	{"pop3_listen named port", `pop3_listen = ":pop3"`, []want{{"pop3_listen", "invalid port"}}},
	{"pop3s_listen negative port", `pop3s_listen = ":-1"`, []want{{"pop3s_listen", "invalid port"}}},
	{"submission_listen number", `submission_listen = 587`, []want{{"submission_listen", "want a string"}}},
	{"submissions_listen space", `submissions_listen = "local host:465"`, []want{{"submissions_listen", "invalid host"}}},
	{"lmtp_listen empty port", `lmtp_listen = "127.0.0.1:"`, []want{{"lmtp_listen", "invalid port"}}},
	{"lmtp_socket too long", `lmtp_socket = "/run/` + long + `.sock"`, []want{{"lmtp_socket", "longer than"}}},
	{"default sockets too long", `data_dir = "/srv/` + long + `"`, []want{{"lmtp_socket", "set lmtp_socket to a shorter path"}, {"admin_socket", "set admin_socket"}}},
	{"long socket without its role", "data_dir = \"/srv/" + long + "\"\nroles = [\"imap\"]", nil},
	{"http_listen too many colons", `http_listen = "1:2:3"`, []want{{"http_listen", "invalid address"}}},
	{"https_listen bare port", `https_listen = "443"`, []want{{"https_listen", "invalid address"}}},
	{"managesieve_listen", `managesieve_listen = "localhost:sieve"`, []want{{"managesieve_listen", "invalid port"}}},
	{"same socket", "lmtp_socket = \"x.sock\"\nadmin_socket = \"x.sock\"", []want{{"admin_socket", "same path as lmtp_socket"}}},
	{"admin_socket wrong type", `admin_socket = true`, []want{{"admin_socket", "not the boolean true"}}},
	{"admin_listen", `admin_listen = "[::1]"`, []want{{"admin_listen", "invalid address"}}},
	{"duplicate address", `http_listen = "127.0.0.1:1143"`, []want{{"http_listen", "already used by imap_listen"}}},
	{"port 0 twice", "http_listen = \"127.0.0.1:0\"\nhttps_listen = \"127.0.0.1:0\"", nil},
	{"off and empty", "http_listen = \"off\"\nhttps_listen = \"\"\nadmin_listen = \"off\"", nil},
	{"cert without key", `ssl_certificate_file = "/etc/ssl/roost.pem"`, []want{{"ssl_private_key_file", "must be set when ssl_certificate_file is set"}}},
	{"key without cert", `ssl_private_key_file = "/etc/ssl/roost.key"`, []want{{"ssl_certificate_file", "must be set when ssl_private_key_file is set"}}},
	{"cert files missing", "ssl_certificate_file = \"/nonexistent/c.pem\"\nssl_private_key_file = \"/nonexistent/k.pem\"", []want{{"ssl_certificate_file", "does not exist"}, {"ssl_private_key_file", "does not exist"}}},
	{"cert is a directory", "ssl_certificate_file = \"/\"\nssl_private_key_file = \"/\"", []want{{"ssl_certificate_file", "not a regular file"}, {"ssl_private_key_file", "not a regular file"}}},
	{"ca missing", `ssl_ca_file = "/nonexistent/ca.pem"`, []want{{"ssl_ca_file", "does not exist"}}},
	{"client cert without key", `ssl_client_certificate_file = "/etc/ssl/node.pem"`, []want{{"ssl_client_key_file", "must be set when ssl_client_certificate_file is set"}}},
	{"client key without cert", `ssl_client_key_file = "/etc/ssl/node.key"`, []want{{"ssl_client_certificate_file", "must be set when ssl_client_key_file is set"}}},
	{"client cert without ca", "ssl_client_certificate_file = \"/etc/ssl/node.pem\"\nssl_client_key_file = \"/etc/ssl/node.key\"", []want{{"ssl_client_certificate_file", "needs ssl_ca_file"}}},
	{"lmtp client cert without ca", `lmtp_require_client_certificate = true`, []want{{"lmtp_require_client_certificate", "needs ssl_ca_file"}}},
	{"lmtp client cert not a bool", `lmtp_require_client_certificate = "yes"`, []want{{"lmtp_require_client_certificate", ""}}},
	{"frontend with a client cert but no ca", "node_roles = [\"frontend\"]\nssl_client_certificate_file = \"/etc/ssl/node.pem\"\nssl_client_key_file = \"/etc/ssl/node.key\"\nblob_store = \"s3\"\ns3_endpoint = \"s3:9000\"\ns3_bucket = \"mail\"\ns3_access_key = \"k\"\ns3_secret_key = \"s\"", []want{{"shard_secret_file", "mutual TLS"}, {"ssl_client_certificate_file", "needs ssl_ca_file"}}},
	{"server_name space", `server_name = "mail example.com"`, []want{{"server_name", "not a valid host name"}}},
	{"server_name hyphen", `server_name = "-mail.example.com"`, []want{{"server_name", "not a valid host name"}}},
	{"public_hostname space", `public_hostname = "mail example.com"`, []want{{"public_hostname", "not a valid host name"}}},
	{"public_ports unknown service", `public_ports = ["lmtp=24"]`, []want{{"public_ports", "not 'service=port'"}}},
	{"public_ports bad port", `public_ports = ["imaps=99999"]`, []want{{"public_ports", "not 'service=port'"}}},
	{"loginname without %u", `loginname_format = "%c"`, []want{{"loginname_format", "must contain %u"}}},
	{"loginname unknown placeholder", `loginname_format = "%u@%d"`, []want{{"loginname_format", "unknown placeholder %d"}}},
	{"loginname lone percent", `loginname_format = "%u%"`, []want{{"loginname_format", "lone %"}}},
	{"loginname escaped percent", `loginname_format = "%%%u"`, nil},
	{"user_plugin ldap without server", `user_plugin = "ldap"`, []want{{"ldap_uri", "at least one server"}, {"ldap_search_base", "must not be empty"}}},
	{"ldap ok", "user_plugin = \"ldap\"\nldap_uri = \"ldaps://a.example ldap://b.example:389\"\nldap_search_base = \"dc=example,dc=org\"", nil},
	{"ldap bad uri", "user_plugin = \"ldap\"\nldap_uri = \"http://a.example\"\nldap_search_base = \"dc=x\"", []want{{"ldap_uri", "scheme must be ldap:// or ldaps://"}}},
	{"ldap preset", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_preset = \"novell\"", []want{{"ldap_preset", `"novell" is not allowed`}}},
	{"ldap filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_user_search_filter = \"objectClass=person\"", []want{{"ldap_user_search_filter", "not an LDAP filter"}}},
	{"ldap bind without password", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_bind_user = \"cn=svc\"", []want{{"ldap_bind_passwd", "must be set"}}},
	{"ldap timeout", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_network_timeout = 0", []want{{"ldap_network_timeout", "minimum of 1"}}},
	{"ldap cacert missing", "user_plugin = \"ldap\"\nldap_uri = \"ldaps://a\"\nldap_search_base = \"dc=x\"\nldap_tls_cacert = \"/nonexistent/ca.pem\"", []want{{"ldap_tls_cacert", "does not exist"}}},
	{"ldap_starttls string", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_starttls = \"yes\"", []want{{"ldap_starttls", "want true or false"}}},
	{"ldap_bind_user not a DN", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_bind_user = \"roost\"\nldap_bind_passwd = \"x\"", []want{{"ldap_bind_user", "not a DN"}}},
	{"ldap unique attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_user_unique_attribute = \"entry UUID\"", []want{{"ldap_user_unique_attribute", "not an LDAP attribute name"}}},
	{"ldap login attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_loginname_attribute = \"uid)(uid=*\"", []want{{"ldap_loginname_attribute", "not an LDAP attribute name"}}},
	{"ldap mail attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_emailaddress_attribute = \"-mail\"", []want{{"ldap_emailaddress_attribute", "not an LDAP attribute name"}}},
	{"ldap aliases attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_emailaliases_attribute = \"a,b\"", []want{{"ldap_emailaliases_attribute", "not an LDAP attribute name"}}},
	{"ldap fullname attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_fullname_attribute = \"c n\"", []want{{"ldap_fullname_attribute", "not an LDAP attribute name"}}},
	{"ldap nonactive attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_nonactive_attribute = \"*\"", []want{{"ldap_nonactive_attribute", "not an LDAP attribute name"}}},
	{"ldap nonactive value alone", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_nonactive_value = \"1\"", []want{{"ldap_nonactive_value", "needs ldap_nonactive_attribute"}}},
	{"ldap bitmask negative", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_nonactive_bitmask = -2", []want{{"ldap_nonactive_bitmask", "minimum of 0"}}},
	{"ldap isadmin attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_isadmin_attribute = \"1.2.x\"", []want{{"ldap_isadmin_attribute", "not an LDAP attribute name"}}},
	{"ldap cache ttl negative", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_auth_cache_ttl = -1", []want{{"ldap_auth_cache_ttl", "minimum of 0"}}},
	{"ldap group filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_search_filter = \"objectClass=group\"", []want{{"ldap_group_search_filter", "not an LDAP filter"}}},
	{"ldap group unique attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_unique_attribute = \"entry(UUID\"", []want{{"ldap_group_unique_attribute", "not an LDAP attribute name"}}},
	{"ldap groupname attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_groupname_attribute = \"c n\"", []want{{"ldap_groupname_attribute", "not an LDAP attribute name"}}},
	{"ldap group mail attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_emailaddress_attribute = \"m;x\"", []want{{"ldap_group_emailaddress_attribute", "not an LDAP attribute name"}}},
	{"ldap members attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_groupmembers_attribute = \"-m\"", []want{{"ldap_groupmembers_attribute", "not an LDAP attribute name"}}},
	{"ldap members type", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_groupmembers_attribute_type = \"list\"", []want{{"ldap_groupmembers_attribute_type", "not allowed"}}},
	{"ldap members rel", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_groupmembers_relation_attribute = \"u id\"", []want{{"ldap_groupmembers_relation_attribute", "not an LDAP attribute name"}}},
	{"ldap security attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_security_attribute = \"(x)\"", []want{{"ldap_group_security_attribute", "not an LDAP attribute name"}}},
	{"ldap security type", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_security_attribute_type = \"bool\"", []want{{"ldap_group_security_attribute_type", "not allowed"}}},
	{"ldap hidden attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_group_hidden_attribute = \"h*\"", []want{{"ldap_group_hidden_attribute", "not an LDAP attribute name"}}},
	{"ldap sendas attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_sendas_attribute = \"s a\"", []want{{"ldap_sendas_attribute", "not an LDAP attribute name"}}},
	{"ldap sendas type", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_sendas_attribute_type = \"uid\"", []want{{"ldap_sendas_attribute_type", "not allowed"}}},
	{"ldap sendas rel", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_sendas_relation_attribute = \"=\"", []want{{"ldap_sendas_relation_attribute", "not an LDAP attribute name"}}},
	{"ldap page size", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_page_size = 0", []want{{"ldap_page_size", "minimum of 1"}}},
	{"ldap sync interval", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_sync_interval = -1", []want{{"ldap_sync_interval", "minimum of 0"}}},
	{"ldap ldap_quotaoverride_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_quotaoverride_attribute = \"a b\"", []want{{"ldap_quotaoverride_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_warnquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_warnquota_attribute = \"a b\"", []want{{"ldap_warnquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_softquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_softquota_attribute = \"a b\"", []want{{"ldap_softquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_hardquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_hardquota_attribute = \"a b\"", []want{{"ldap_hardquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_enabled_features_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_enabled_features_attribute = \"a b\"", []want{{"ldap_enabled_features_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_disabled_features_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_disabled_features_attribute = \"a b\"", []want{{"ldap_disabled_features_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_user_server_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_user_server_attribute = \"a b\"", []want{{"ldap_user_server_attribute", "not an LDAP attribute name"}}},
	{"ldap quota multiplier", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_quota_multiplier = 0", []want{{"ldap_quota_multiplier", "minimum of 1"}}},
	{"ldap dyn filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_dynamicgroup_search_filter = \"x=y\"", []want{{"ldap_dynamicgroup_search_filter", "not an LDAP filter"}}},
	{"ldap dyn name", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_dynamicgroup_name_attribute = \"c n\"", []want{{"ldap_dynamicgroup_name_attribute", "not an LDAP attribute name"}}},
	{"ldap dyn filter attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_dynamicgroup_filter_attribute = \"k f\"", []want{{"ldap_dynamicgroup_filter_attribute", "not an LDAP attribute name"}}},
	{"ldap dyn unique attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_dynamicgroup_unique_attribute = \"entry UUID\"", []want{{"ldap_dynamicgroup_unique_attribute", "not an LDAP attribute name"}}},
	{"ldap company filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_search_filter = \"ou\"", []want{{"ldap_company_search_filter", "not an LDAP filter"}}},
	{"ldap ldap_dynamicgroup_search_base_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_dynamicgroup_search_base_attribute = \"a b\"", []want{{"ldap_dynamicgroup_search_base_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_addresslist_search_base_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_addresslist_search_base_attribute = \"a b\"", []want{{"ldap_addresslist_search_base_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_unique_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_unique_attribute = \"a b\"", []want{{"ldap_company_unique_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_view_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_view_attribute = \"a b\"", []want{{"ldap_company_view_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_view_relation_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_view_relation_attribute = \"a b\"", []want{{"ldap_company_view_relation_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_admin_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_admin_attribute = \"a b\"", []want{{"ldap_company_admin_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_admin_relation_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_admin_relation_attribute = \"a b\"", []want{{"ldap_company_admin_relation_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_userdefault_quotaoverride_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_userdefault_quotaoverride_attribute = \"a b\"", []want{{"ldap_userdefault_quotaoverride_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_userdefault_warnquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_userdefault_warnquota_attribute = \"a b\"", []want{{"ldap_userdefault_warnquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_userdefault_softquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_userdefault_softquota_attribute = \"a b\"", []want{{"ldap_userdefault_softquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_userdefault_hardquota_attribute", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_userdefault_hardquota_attribute = \"a b\"", []want{{"ldap_userdefault_hardquota_attribute", "not an LDAP attribute name"}}},
	{"ldap ldap_company_scope", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_scope = \"base\"", []want{{"ldap_company_scope", "is not allowed"}}},
	{"ldap ldap_company_view_attribute_type", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_view_attribute_type = \"uid\"", []want{{"ldap_company_view_attribute_type", "is not allowed"}}},
	{"ldap ldap_company_admin_attribute_type", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_company_admin_attribute_type = \"uid\"", []want{{"ldap_company_admin_attribute_type", "is not allowed"}}},
	{"ldap company name", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_companyname_attribute = \"o u\"", []want{{"ldap_companyname_attribute", "not an LDAP attribute name"}}},
	{"ldap addresslist filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_addresslist_search_filter = \"(a\"", []want{{"ldap_addresslist_search_filter", "not an LDAP filter"}}},
	{"ldap addresslist name", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_addresslist_name_attribute = \"c n\"", []want{{"ldap_addresslist_name_attribute", "not an LDAP attribute name"}}},
	{"ldap addresslist filter attr", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_addresslist_filter_attribute = \"k f\"", []want{{"ldap_addresslist_filter_attribute", "not an LDAP attribute name"}}},
	{"ldap contact filter", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_contact_search_filter = \"(a))\"", []want{{"ldap_contact_search_filter", "not an LDAP filter"}}},
	{"ldap tenant empty", "user_plugin = \"ldap\"\nldap_uri = \"ldap://a\"\nldap_search_base = \"dc=x\"\nldap_tenant = \"\"", []want{{"ldap_tenant", "must not be empty"}}},
	{"user_plugin unix without domain", `user_plugin = "unix"`, []want{{"unix_default_domain", "mail domain"}}},
	{"unix passwd relative", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_passwd_file = \"etc/passwd\"", []want{{"unix_passwd_file", "not an absolute path"}}},
	{"unix shadow relative", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_shadow_file = \"shadow\"", []want{{"unix_shadow_file", "not an absolute path"}}},
	{"unix group relative", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_group_file = \"group\"", []want{{"unix_group_file", "not an absolute path"}}},
	{"unix min uid", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_min_user_uid = -1", []want{{"unix_min_user_uid", "minimum of 0"}}},
	{"unix max uid", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_max_user_uid = 10", []want{{"unix_max_user_uid", "below unix_min_user_uid"}}},
	{"unix min gid", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_min_group_gid = -1", []want{{"unix_min_group_gid", "minimum of 0"}}},
	{"unix max gid", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_max_group_gid = 10", []want{{"unix_max_group_gid", "below unix_min_group_gid"}}},
	{"unix shells", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_non_login_shell = [\"nologin\"]", []want{{"unix_non_login_shell", "not an absolute path"}}},
	{"unix except uids negative", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_except_user_uids = [1001, -3]", []want{{"unix_except_user_uids", "-3 is not a uid"}}},
	{"unix except uids strings", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_except_user_uids = [\"1001\"]", []want{{"unix_except_user_uids", "item 1: want a whole number"}}},
	{"unix except gids not a list", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_except_group_gids = 1001", []want{{"unix_except_group_gids", "want a list of whole numbers"}}},
	{"unix domain", "user_plugin = \"unix\"\nunix_default_domain = \"a@b.org\"", []want{{"unix_default_domain", "mail domain"}}},
	{"unix tenant", "user_plugin = \"unix\"\nunix_default_domain = \"example.org\"\nunix_tenant = \"\"", []want{{"unix_tenant", "must not be empty"}}},
	{"user_plugin unknown", `user_plugin = "ad"`, []want{{"user_plugin", "not a user plugin"}}},
	{"locale", `default_store_locale = "en_GB"`, []want{{"default_store_locale", `"en_GB" is not allowed`}}},
	{"activesync pin bool", `activesync_require_pin = "yes"`, []want{{"activesync_require_pin", "true or false"}}},
	{"activesync pin length", `activesync_min_pin_length = 0`, []want{{"activesync_min_pin_length", "less than the minimum of 1"}}},
	{"activesync pin too long", `activesync_min_pin_length = 40`, []want{{"activesync_min_pin_length", "at most 16"}}},
	{"activesync alnum bool", `activesync_alphanumeric_pin = 1`, []want{{"activesync_alphanumeric_pin", "true or false"}}},
	{"activesync encryption bool", `activesync_require_encryption = "no"`, []want{{"activesync_require_encryption", "true or false"}}},
	{"activesync failed pins", `activesync_max_failed_pins = 2`, []want{{"activesync_max_failed_pins", "0 (off) or 4 to 16"}}},
	{"activesync inactivity", `activesync_max_inactivity_lock = -5`, []want{{"activesync_max_inactivity_lock", "less than the minimum of 0"}}},
	{"softdelete negative", `softdelete_lifetime = -1`, []want{{"softdelete_lifetime", "less than the minimum of 0"}}},
	{"softdelete string", `softdelete_lifetime = "30"`, []want{{"softdelete_lifetime", "without quotes"}}},
	{"softdelete float", `softdelete_lifetime = 1.5`, []want{{"softdelete_lifetime", "want a whole number, not 1.5"}}},
	{"quota_warn negative", `quota_warn = -1`, []want{{"quota_warn", "minimum of 0"}}},
	{"quota_soft negative", `quota_soft = -5`, []want{{"quota_soft", "minimum of 0"}}},
	{"quota_hard with unit", `quota_hard = "1G"`, []want{{"quota_hard", "without quotes"}}},
	{"companyquota negative", `companyquota_warn = -1`, []want{{"companyquota_warn", "minimum of 0"}}},
	{"quota_messages negative", `quota_messages = -1`, []want{{"quota_messages", "minimum of 0"}}},
	{"warn above soft", "quota_warn = 100\nquota_soft = 50", []want{{"quota_warn", "above quota_soft"}}},
	{"soft above hard", "quota_soft = 200\nquota_hard = 100", []want{{"quota_soft", "above quota_hard"}}},
	{"warn above hard, soft off", "quota_warn = 100\nquota_hard = 50", []want{{"quota_warn", "above quota_hard"}}},
	{"quotas ordered with zeros", "quota_warn = 10\nquota_soft = 0\nquota_hard = 0", nil},
	{"log_level name", `log_level = "verbose"`, []want{{"log_level", `"verbose" is not a log level`}}},
	{"log_level number", `log_level = 7`, []want{{"log_level", `"7" is not a log level`}}},
	{"log_file empty", `log_file = ""`, []want{{"log_file", "must not be empty"}}},
	{"log_file directory", `log_file = "/"`, []want{{"log_file", "is a directory"}}},
	{"log_levels", `log_levels = ["imap=debug", "queue=loud", "nolevel"]`, []want{{"log_levels", `"queue=loud"`}, {"log_levels", `"nolevel"`}}},
	{"log_levels subsystem", `log_levels = ["imapp=debug", "ldap=debug", "quota-monitor=warn"]`, []want{{"log_levels", `"imapp" is not a subsystem`}}},
	{"metrics_listen", `metrics_listen = "[::1]"`, []want{{"metrics_listen", "invalid address"}}},
	{"audit_log_file directory", `audit_log_file = "/"`, []want{{"audit_log_file", "is a directory"}}},
	{"log_format", `log_format = "xml"`, []want{{"log_format", `"xml" is not allowed`}}},
	{"plaintext yes", `allow_plaintext_auth = "yes"`, []want{{"allow_plaintext_auth", "want true or false without quotes"}}},
	{"plaintext number", `allow_plaintext_auth = 1`, []want{{"allow_plaintext_auth", "want true or false"}}},
	{"oidc_issuer", "oidc_issuer = \"ftp://idp\"\noidc_client_id = \"roost\"", []want{{"oidc_issuer", "is not an https URL"}}},
	{"oidc_provider_issuer", `oidc_provider_issuer = "https://mail.example.com/sso"`, []want{{"oidc_provider_issuer", "without path"}}},
	{"oidc_introspection_url", "oidc_issuer = \"https://idp.example.com\"\noidc_client_id = \"roost\"\noidc_introspection_url = \"introspect\"", []want{{"oidc_introspection_url", "is not an https URL"}}},
	{"oidc without client", `oidc_issuer = "https://idp.example.com"`, []want{{"oidc_client_id", "must be set"}}},
	{"oidc_client_secret type", `oidc_client_secret = 5`, []want{{"oidc_client_secret", "want a string"}}},
	{"oidc_audiences", "oidc_issuer = \"https://idp.example.com\"\noidc_client_id = \"roost\"\noidc_audiences = [\"\"]", []want{{"oidc_audiences", "empty audience"}}},
	{"oidc_scopes", "oidc_issuer = \"https://idp.example.com\"\noidc_client_id = \"roost\"\noidc_scopes = [\"openid email\"]", []want{{"oidc_scopes", "is not a scope"}}},
	{"oidc_login_claim", "oidc_issuer = \"https://idp.example.com\"\noidc_client_id = \"roost\"\noidc_login_claim = \"\"", []want{{"oidc_login_claim", "must name a claim"}}},
	{"oidc_redirect_uri", "oidc_issuer = \"https://idp.example.com\"\noidc_client_id = \"roost\"\noidc_redirect_uri = \"https://mail.example.com/elsewhere\"", []want{{"oidc_redirect_uri", "ending in /auth/oidc/callback"}}},
	{"oauthbearer string", `sasl_oauthbearer = "no"`, []want{{"sasl_oauthbearer", "want true or false"}}},
	{"per ip negative", `max_connections_per_ip = -1`, []want{{"max_connections_per_ip", "minimum of 0"}}},
	{"per user negative", `max_connections_per_user = -2`, []want{{"max_connections_per_user", "minimum of 0"}}},
	{"line length small", `max_line_length = 999`, []want{{"max_line_length", "minimum of 1000"}}},
	{"line length huge", `max_line_length = 100000000`, []want{{"max_line_length", "more than the maximum"}}},
	{"message size zero", `max_message_size = 0`, []want{{"max_message_size", "minimum of 1"}}},
	{"message size huge", `max_message_size = 9223372036854775807`, []want{{"max_message_size", "more than the maximum"}}},
	{"feature", `disabled_features = ["imap", "calendar"]`, []want{{"disabled_features", `"calendar" is not allowed`}}},
	{"postgres accepted", `database = "postgres://roost:secret@db.example.com:5432/roost?sslmode=verify-full"`, nil},
	{"postgresql accepted", `database = "postgresql:///roost?host=/run/postgresql"`, nil},
	{"sqlite accepted", `database = "sqlite:///var/lib/roost/meta.db"`, nil},

	// Unknown keys.
	{"unknown key with suggestion", `imap_listn = ":143"`, []want{{"imap_listn", `unknown key; did you mean "imap_listen"?`}}},
	{"kopano key with suggestion", `softdelete_lifetme = 3`, []want{{"softdelete_lifetme", `did you mean "softdelete_lifetime"?`}}},
	{"unknown key far from all", `frobnicate = 1`, []want{{"frobnicate", "unknown key"}}},
	{"upper case key", `IMAP_LISTEN = ":143"`, []want{{"IMAP_LISTEN", `keys are lower case: did you mean "imap_listen"?`}}},
	{"upper case shadows value", "imap_listen = \":143\"\nIMAP_LISTEN = \"bad\"", []want{{"IMAP_LISTEN", "lower case"}}},
	{"section", "[imap]\nlisten = \":143\"", []want{{"imap", "no [sections]"}}},
	{"dotted key", `imap_listen.port = 143`, []want{{"imap_listen", "not a table"}}},

	// Syntax errors name the key and line where the parser can.
	{"unquoted address", `imap_listen = 127.0.0.1:143`, []want{{"imap_listen", "line 1:"}}},
	{"kopano boolean", `allow_plaintext_auth = yes`, []want{{"allow_plaintext_auth", "strings must be in quotes"}}},
	{"duplicate key", "log_level = \"info\"\nlog_level = \"debug\"", []want{{"log_level", "line 2:"}}},
	{"no key", "[imap\n", []want{{"", "line "}}},

	// Everything at once.
	{"several problems", `
data_dir = ""
imaps_listen = "nowhere"
quota_warn = -3
log_format = "yaml"
max_message_size = "50M"
shoe_size = 42
roles = ["all", "web"]
ssl_certificate_file = "/nonexistent/c.pem"
`, []want{
		{"data_dir", "must not be empty"},
		{"imaps_listen", "invalid address"},
		{"quota_warn", "minimum"},
		{"log_format", "not allowed"},
		{"max_message_size", "without quotes"},
		{"shoe_size", "unknown key"},
		{"roles", `"web"`},
		{"ssl_private_key_file", "must be set"},
	}},
}

func TestValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := problems(t, tc.text+"\n")
			checkProblems(t, got, tc.want)
		})
	}
}

// checkProblems wants exactly one problem per want, in any order.
func checkProblems(t *testing.T, got []config.Problem, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, p := range got {
			if !used[i] && p.Key == w.key && strings.Contains(p.Message, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing problem: key %q: ...%s...", w.key, w.msg)
		}
	}
	for i, p := range got {
		if !used[i] {
			t.Errorf("unexpected problem: key %q: %s", p.Key, p.Message)
		}
	}
}

func TestEveryKeyHasABadValue(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tc := range validationCases {
		for _, w := range tc.want {
			covered[w.key] = true
		}
	}
	for _, f := range config.Fields() {
		if !covered[f.Key] {
			t.Errorf("validationCases has no bad value for %s", f.Key)
		}
	}
}

func TestProblemsAreInErrorText(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "quota_warn = -1\nlog_format = \"xml\"\n")
	_, err := config.Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("error has %d lines, want 2:\n%v", len(lines), err)
	}
	for i, key := range []string{"quota_warn", "log_format"} {
		prefix := fmt.Sprintf("config: %s: key %q: ", path, key)
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want prefix %q", i+1, lines[i], prefix)
		}
	}
}

func TestPostgresPasswordNotInProblem(t *testing.T) {
	t.Parallel()
	got := problems(t, `database = "postgres://u:hunter2@h:port/db"`)
	if len(got) != 1 || strings.Contains(got[0].Message, "hunter2") {
		t.Errorf("problems = %+v", got)
	}
}

func TestTLSFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certA, keyA := writeKeyPair(t, filepath.Join(dir, "a"))
	_, keyB := writeKeyPair(t, filepath.Join(dir, "b"))
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		text string
		want []want
	}{
		{"valid pair and CA", fmt.Sprintf("ssl_certificate_file = %q\nssl_private_key_file = %q\nssl_ca_file = %q", certA, keyA, certA), nil},
		{"mismatched pair", fmt.Sprintf("ssl_certificate_file = %q\nssl_private_key_file = %q", certA, keyB), []want{{"ssl_private_key_file", "does not match"}}},
		{"garbage cert", fmt.Sprintf("ssl_certificate_file = %q\nssl_private_key_file = %q", garbage, keyA), []want{{"ssl_certificate_file", "certificate"}}},
		{"garbage key", fmt.Sprintf("ssl_certificate_file = %q\nssl_private_key_file = %q", certA, garbage), []want{{"ssl_private_key_file", "key"}}},
		{"garbage CA", fmt.Sprintf("ssl_ca_file = %q", garbage), []want{{"ssl_ca_file", "no PEM certificate"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, problems(t, tc.text), tc.want)
		})
	}
}

// writeKeyPair writes a self-signed certificate and its key under dir.
func writeKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "roost test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestShardMutualTLSWithoutSecret: with mutual TLS (ssl_ca_file, and a
// client certificate on a frontend) the sharded mode needs no
// shard_secret_file.
func TestShardMutualTLSWithoutSecret(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeKeyPair(t, dir)
	s3 := "blob_store = \"s3\"\ns3_endpoint = \"s3:9000\"\ns3_bucket = \"mail\"\ns3_access_key = \"k\"\ns3_secret_key = \"s\"\n"
	backend := fmt.Sprintf("node_roles = [\"backend\"]\nssl_ca_file = %q\n", certFile) + s3
	checkProblems(t, problems(t, backend), nil)
	frontend := fmt.Sprintf("node_roles = [\"frontend\"]\nssl_ca_file = %q\nssl_client_certificate_file = %q\nssl_client_key_file = %q\n",
		certFile, certFile, keyFile) + s3
	checkProblems(t, problems(t, frontend), nil)
}

// TestNodePublicURL: public_url as set, else derived from the HTTPS (else
// HTTP) listener, server_name standing in for an address that is every
// address, the default port left out.
func TestNodePublicURL(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`public_url = "https://node-b.example.org/"`, "https://node-b.example.org"},
		{"https_listen = \"10.0.0.2:8443\"\nhttp_listen = \"10.0.0.2:8080\"", "https://10.0.0.2:8443"},
		{"https_listen = \"off\"\nhttp_listen = \"127.0.0.3:8080\"", "http://127.0.0.3:8080"},
		{"https_listen = \":443\"\nserver_name = \"mail.example.org\"", "https://mail.example.org"},
		{"https_listen = \"off\"\nhttp_listen = \"[::]:80\"\nserver_name = \"mail.example.org\"", "http://mail.example.org"},
		{"https_listen = \"[::1]:443\"", "https://[::1]"},
		{"https_listen = \"off\"\nhttp_listen = \"off\"", ""},
		{"roles = [\"imap\"]", ""},
	} {
		cfg, err := config.Load(writeConfig(t, c.text))
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		if got := cfg.NodePublicURL(); got != c.want {
			t.Errorf("%s: NodePublicURL = %q, want %q", c.text, got, c.want)
		}
	}
}
