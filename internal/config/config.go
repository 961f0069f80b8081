// Package config holds Roost's typed configuration: one flat TOML file of
// Kopano-style keys, their defaults, their validation and their reference
// documentation.
//
// Invariants:
//   - The struct tags of [Config] are the one source of truth. A field's
//     `toml` tag is its key, `default` its default value, `doc` its
//     documentation paragraph and `reload:"true"` marks a key that a running
//     server applies on SIGHUP. [Default], [Fields], [Reload] and [Markdown]
//     all read the tags; docs/configuration.md is generated from them and a
//     test fails when it is stale.
//   - [Load] reports every problem in a file at once (unknown keys, values of
//     the wrong type, values out of range, keys that contradict each other)
//     as one [*ValidationError]; each problem names its key.
//   - A *Config returned by [Load] or [Default] is valid and is never mutated
//     afterwards: a reload builds a new *Config with [Reload], so readers may
//     share one without locking.
//   - Relative paths are relative to the working directory of the process.
//   - Sizes given in MB are mebibytes ([MB] bytes each).
//
// In doc tags (which cannot contain backquotes) text in single quotes, such
// as 'all', is rendered as code in the Markdown reference.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MB is the number of bytes in one MB of the size keys (quota_*,
// max_message_size).
const MB int64 = 1 << 20

// Config is the whole configuration of one Roost process. Field order is the
// order of the generated reference.
type Config struct {
	DataDir  string   `toml:"data_dir" default:"./roost-data" doc:"Directory holding everything Roost keeps on local disk: the SQLite database (unless 'database' is set), message and attachment blobs, the generated TLS certificate, the search index and the default unix sockets. Created on first start."`
	Database string   `toml:"database" default:"" doc:"Metadata database. Empty means the SQLite file 'roost.db' in 'data_dir'. 'sqlite:///path/file.db' names another SQLite file; 'postgres://user:password@host:5432/dbname' (or 'postgresql://…', with any libpq URL parameters such as 'sslmode') selects PostgreSQL, which several nodes of a cluster share."`
	Roles    []string `toml:"roles" default:"all" doc:"Services this process runs. 'all' runs every service; otherwise list any of 'imap', 'pop3', 'lmtp', 'submission', 'http' (JMAP, CalDAV, CardDAV, ActiveSync and the web client), 'managesieve', 'admin' (the admin API) and 'jobs' (periodic work: quota monitor, soft-delete purge, outbound queue). A listener of a service that is not running is not opened."`

	NodeName        string   `toml:"node_name" default:"" doc:"Name of this node in the cluster's registry ('roost admin node list'), unique among the nodes sharing one database. Empty means the host name of the machine; nodes on one machine need names of their own."`
	NodeAddress     string   `toml:"node_address" default:"" doc:"Address other nodes and administrators reach this node at, shown by 'roost admin node list'. Empty means the host of 'imap_listen' (or of 'http_listen' when IMAP is off)."`
	NodeHeartbeat   int      `toml:"node_heartbeat" default:"5" doc:"Seconds between two heartbeats of this node in the registry. A node whose heartbeat is four intervals old has died: its leases of run-once jobs (soft-delete purge, quota monitor, orphan sweep) are taken over by another node with the 'jobs' role."`
	NodeRoles       []string `toml:"node_roles" default:"" doc:"Roles of this node in the sharded multi-server mode (docs/cluster.md, Sharded mode): 'backend' holds the stores of the users whose home_node it is and accepts sessions proxied by frontends; 'frontend' authenticates clients and proxies each session to the user's home backend (a user whose home_node is empty or this node is served here). A node may be both. Empty: not sharded (every node serves every user)."`
	ShardSecretFile string   `toml:"shard_secret_file" default:"" doc:"Absolute path of a file holding the secret that frontends and backends of the sharded mode share (its first line, at least 32 characters). A frontend proves with it that it has authenticated the user it logs in as; a backend accepts such a login only from a node registered with the 'frontend' role. Required with 'node_roles' unless the nodes use mutual TLS instead ('ssl_ca_file' on every node, and 'ssl_client_certificate_file' on frontends), which a backend with 'ssl_ca_file' then requires. Read at start."`
	DrainGrace      int      `toml:"drain_grace" default:"60" doc:"Seconds a drained node ('roost admin node drain') lets open sessions finish before it ends them (IMAP BYE, SMTP 421). Its '/readyz' answers 503 from the start of the drain, so load balancers send new clients elsewhere."`
	HTTPRouting     string   `toml:"http_routing" default:"proxy" reload:"true" doc:"How a frontend of the sharded mode sends HTTP requests (CalDAV/CardDAV, JMAP, ActiveSync) of users whose home is another node: 'proxy' forwards them to the home backend, keeping one public name for every user; 'redirect' answers '307 Temporary Redirect' to the home node's 'proxy_url' (when the request carries 'proxy_header') or 'public_url', after checking the credentials. ActiveSync devices are redirected their own way (451 with X-MS-Location). The web client's API always goes through the proxy (its session cookie does not follow a redirect to another host). See docs/cluster.md, HTTP redirect mode."`
	PublicURL       string   `toml:"public_url" default:"" reload:"true" doc:"URL at which HTTP clients reach this node directly, e.g. 'https://node-b.example.com' (no path, query or fragment), registered in the node registry: a frontend with 'http_routing = \"redirect\"' sends the users whose home this node is there. Empty means derived from 'https_listen' (else 'http_listen'): its address, or 'server_name' when it listens on every address."`
	ProxyURL        string   `toml:"proxy_url" default:"" reload:"true" doc:"URL at which HTTP clients reach this node through the operator's reverse proxy, e.g. 'https://proxy.example.com/node-b' (a path prefix the reverse proxy strips is allowed; Kopano's KOPANOPROXYURL), registered in the node registry. A redirecting frontend names it instead of 'public_url' when the request carries 'proxy_header'. Empty: none (the redirect names 'public_url')."`
	ProxyHeader     string   `toml:"proxy_header" default:"" reload:"true" doc:"On a frontend with 'http_routing = \"redirect\"': the request header (any value) that a reverse proxy adds to the requests it passes, e.g. 'X-Roost-Via-Proxy'; a request carrying it is redirected to the home node's 'proxy_url', one without it (an internal client) to its 'public_url'. '*' redirects every request to the 'proxy_url'. Empty: always 'public_url' (Kopano's proxy_header)."`
	BlobStore       string   `toml:"blob_store" default:"file" doc:"Where message and attachment content over 64 KiB is kept (smaller content stays in the database): 'file' in 'data_dir'/blobs, or 's3' in an S3-compatible object store (the 's3_' keys), which every node of a cluster shares."`
	S3Endpoint      string   `toml:"s3_endpoint" default:"" doc:"With 'blob_store = \"s3\"': host:port of the S3 API, e.g. 's3.eu-central-1.amazonaws.com' or 'minio.internal:9000'."`
	S3Bucket        string   `toml:"s3_bucket" default:"" doc:"With 'blob_store = \"s3\"': the bucket blobs are kept in. It must exist."`
	S3Prefix        string   `toml:"s3_prefix" default:"" doc:"Key prefix of every blob in 's3_bucket', e.g. 'roost/' to share a bucket with other data."`
	S3Region        string   `toml:"s3_region" default:"" doc:"Region of 's3_bucket'. Empty means 'us-east-1', which most self-hosted object stores expect."`
	S3AccessKey     string   `toml:"s3_access_key" default:"" doc:"Access key id of the S3 account."`
	S3SecretKey     string   `toml:"s3_secret_key" default:"" doc:"Secret key of 's3_access_key'. Prefer 's3_secret_key_file'; keep the configuration file readable by Roost only."`
	S3SecretKeyFile string   `toml:"s3_secret_key_file" default:"" doc:"Absolute path of a file holding the secret key of 's3_access_key' (its first line); when set, 's3_secret_key' is ignored. Read at start."`
	S3TLS           bool     `toml:"s3_tls" default:"true" doc:"Talk to 's3_endpoint' over HTTPS, the certificate checked against the system's authorities or 's3_ca_file'. Turn off only on a trusted network."`
	S3CAFile        string   `toml:"s3_ca_file" default:"" doc:"PEM file with the certificate authorities the object store's certificate is checked against. Empty uses the system's."`

	IMAPListen               string `toml:"imap_listen" default:"127.0.0.1:1143" doc:"Address (host:port) of the IMAP listener with STARTTLS. An empty host listens on all interfaces, as in ':143'. Empty or 'off' disables the listener, as for every '*_listen' key."`
	IMAPSListen              string `toml:"imaps_listen" default:"127.0.0.1:1993" doc:"Address (host:port) of the IMAP listener with implicit TLS (port 993 in production). Empty or 'off' disables it."`
	POP3Listen               string `toml:"pop3_listen" default:"127.0.0.1:1110" doc:"Address (host:port) of the POP3 listener with STLS. Empty or 'off' disables it."`
	POP3SListen              string `toml:"pop3s_listen" default:"127.0.0.1:1995" doc:"Address (host:port) of the POP3 listener with implicit TLS (port 995 in production). Empty or 'off' disables it."`
	SubmissionListen         string `toml:"submission_listen" default:"127.0.0.1:1587" doc:"Address (host:port) of the SMTP submission listener with STARTTLS (port 587 in production). Empty or 'off' disables it."`
	SubmissionsListen        string `toml:"submissions_listen" default:"127.0.0.1:1465" doc:"Address (host:port) of the SMTP submission listener with implicit TLS (port 465 in production). Empty or 'off' disables it."`
	LMTPListen               string `toml:"lmtp_listen" default:"127.0.0.1:1024" doc:"Address (host:port) of the LMTP delivery listener on TCP, for an MTA on another host. LMTP has no authentication: never expose it beyond the hosts of your MTAs. Empty or 'off' disables it."`
	LMTPSocketPath           string `toml:"lmtp_socket" default:"" doc:"Path of the unix socket for LMTP delivery from a local MTA. Empty means 'lmtp.sock' in 'data_dir'."`
	HTTPListen               string `toml:"http_listen" default:"127.0.0.1:8080" doc:"Address (host:port) of the plain HTTP listener (JMAP, CalDAV, CardDAV, ActiveSync, web client), meant for a reverse proxy that terminates TLS. Empty or 'off' disables it."`
	HTTPSListen              string `toml:"https_listen" default:"127.0.0.1:8443" doc:"Address (host:port) of the HTTPS listener (port 443 in production). Empty or 'off' disables it."`
	ManageSieveListen        string `toml:"managesieve_listen" default:"127.0.0.1:4190" doc:"Address (host:port) of the ManageSieve listener (RFC 5804) for editing filter scripts. Empty or 'off' disables it."`
	AdminSocketPath          string `toml:"admin_socket" default:"" doc:"Path of the unix socket of the admin API, used by 'roost admin' on the same host. Whoever can open it is the system administrator: keep its directory private. Empty means 'admin.sock' in 'data_dir'."`
	AdminListen              string `toml:"admin_listen" default:"" doc:"Optional address (host:port) of a TLS listener for the admin API, for administration from other hosts; client certificates are verified against 'ssl_ca_file'. Empty or 'off' disables it."`
	MetricsListen            string `toml:"metrics_listen" default:"" doc:"Optional address (host:port) of a plain HTTP listener serving only Prometheus metrics at '/metrics' (they are always on the admin socket too: 'curl --unix-socket DATA/admin.sock http://roost/metrics'). The metrics name protocols, tenants and queue sizes but no users or messages; still, keep it on loopback or a monitoring network. Empty or 'off' disables it."`
	SSLCertificateFile       string `toml:"ssl_certificate_file" default:"" doc:"PEM file with the server certificate (and its chain) used by every TLS listener and STARTTLS. Empty means a self-signed certificate generated in 'data_dir'/tls/ on first start, which clients will warn about. Set both this and 'ssl_private_key_file', or neither."`
	SSLPrivateKeyFile        string `toml:"ssl_private_key_file" default:"" doc:"PEM file with the private key of 'ssl_certificate_file'."`
	SSLCAFile                string `toml:"ssl_ca_file" default:"" doc:"PEM file with the certificate authorities of Roost's own services (mutual TLS). A client certificate that chains to it is the system identity: on 'admin_listen'; on a backend of the sharded mode, the only proof a frontend's proxy login is accepted with (instead of 'shard_secret_file' and the frontend's registered address); and on LMTP with 'lmtp_require_client_certificate'. A frontend also checks its backends' server certificates against it. Guard the CA's key. Empty accepts no client certificates."`
	SSLClientCertificateFile string `toml:"ssl_client_certificate_file" default:"" doc:"PEM file with the client certificate a frontend of the sharded mode presents to its backends (IMAP, POP3 and LMTP, after STARTTLS), signed by a CA in the backends' 'ssl_ca_file' and carrying the clientAuth extended key usage. Set with 'ssl_client_key_file' and 'ssl_ca_file'; empty: frontends log in with the shard secret."`
	SSLClientKeyFile         string `toml:"ssl_client_key_file" default:"" doc:"PEM file with the private key of 'ssl_client_certificate_file'."`
	LMTPRequireClientCert    bool   `toml:"lmtp_require_client_certificate" default:"false" doc:"Require on the LMTP TCP listener a client certificate that chains to 'ssl_ca_file': an MTA or frontend must STARTTLS with one before MAIL (530 5.7.0 otherwise). The unix socket is not affected. Needs 'ssl_ca_file'."`
	ServerName               string `toml:"server_name" default:"" doc:"Host name announced in protocol greetings and used in generated messages (DSNs, quota warnings). Empty means the host name of the machine."`

	PublicHostname string   `toml:"public_hostname" default:"" reload:"true" doc:"Host name clients are told to connect to (autoconfig, autodiscover, Apple profiles, DNS guidance, MTA-STS), for a server behind a reverse proxy or NAT. Empty means 'server_name'. A domain may override it with its 'public_hostname' property."`
	PublicPorts    []string `toml:"public_ports" default:"" reload:"true" doc:"Ports clients reach each service on when they differ from the listeners' ports (NAT, reverse proxy), each 'service=port' with service one of 'imap', 'imaps', 'pop3', 'pop3s', 'submission', 'submissions', 'https', e.g. 'imaps=993'. A port of 0 hides the service from clients."`

	LoginnameFormat    string `toml:"loginname_format" default:"%u" reload:"true" doc:"How a login name is built from its parts: '%u' is the user name and '%c' the tenant (company) name, as in '%u@%c'. Must contain '%u'; write '%%' for a literal percent sign."`
	UserPlugin         string `toml:"user_plugin" default:"db" doc:"Where users, groups and tenants come from. 'db' keeps them in Roost's database, managed with 'roost admin' and the web admin. 'ldap' authenticates users against an LDAP directory (OpenLDAP, Active Directory; the 'ldap_' keys) and creates or updates their Roost user at login and delivery. 'unix' takes users and groups from the system's passwd, shadow and group files (the 'unix_' keys), likewise."`
	DefaultStoreLocale string `toml:"default_store_locale" default:"en_US" doc:"Language of the standard folder names (Inbox, Sent, Drafts, …) created in a new store: one of 'en_US', 'de_DE', 'nl_NL', 'fr_FR', 'es_ES'."`
	SoftdeleteLifetime int    `toml:"softdelete_lifetime" default:"30" reload:"true" doc:"Days a deleted item or folder stays recoverable before it is purged. Deleted means expunged over IMAP or POP3, destroyed over JMAP or ActiveSync, deleted from Trash or deleted with its folder in the web client; until the purge the user restores it in the web client's Settings (Restore deleted items). The purge runs hourly on one node with the jobs role, so an item is gone between this many days and an hour later. 0 never purges automatically."`

	ActiveSyncRequirePIN        bool `toml:"activesync_require_pin" default:"false" reload:"true" doc:"ActiveSync policy (Provision): devices must be locked with a PIN or password. Devices that cannot apply the policy are refused."`
	ActiveSyncMinPINLength      int  `toml:"activesync_min_pin_length" default:"4" reload:"true" doc:"ActiveSync policy: the shortest device PIN, with 'activesync_require_pin' (1 to 16)."`
	ActiveSyncAlphanumericPIN   bool `toml:"activesync_alphanumeric_pin" default:"false" reload:"true" doc:"ActiveSync policy: the device password must mix letters and digits (and may not be a simple one like 1111), with 'activesync_require_pin'."`
	ActiveSyncRequireEncryption bool `toml:"activesync_require_encryption" default:"false" reload:"true" doc:"ActiveSync policy: devices must encrypt their storage."`
	ActiveSyncMaxFailedPINs     int  `toml:"activesync_max_failed_pins" default:"0" reload:"true" doc:"ActiveSync policy: the device wipes itself after this many wrong PINs, with 'activesync_require_pin'. 0 is off; otherwise 4 to 16."`
	ActiveSyncMaxInactivity     int  `toml:"activesync_max_inactivity_lock" default:"0" reload:"true" doc:"ActiveSync policy: seconds of inactivity after which the device locks itself. 0 leaves it to the device."`

	LDAPPreset              string `toml:"ldap_preset" default:"openldap" doc:"Defaults for the empty 'ldap_' attribute keys: 'openldap' (inetOrgPerson: login 'uid', unique 'entryUUID', 'mail', 'cn'; filter '(objectClass=inetOrgPerson)') or 'ad' (Active Directory: login 'sAMAccountName', unique 'objectGUID', 'mail', 'displayName', 'proxyAddresses'; non-active when 'userAccountControl' has the disabled bit 0x2; filter '(&(objectClass=user)(objectCategory=person))')."`
	LDAPURI                 string `toml:"ldap_uri" default:"" doc:"Space-separated LDAP servers, 'ldap://host:389' or 'ldaps://host:636', tried in order: a server that does not answer is skipped until the next one fails too. Required with 'user_plugin = \"ldap\"'."`
	LDAPStartTLS            bool   `toml:"ldap_starttls" default:"false" doc:"Upgrade 'ldap://' connections with StartTLS before binding. The server certificate is always checked (against 'ldap_tls_cacert', or the system's authorities)."`
	LDAPTLSCACert           string `toml:"ldap_tls_cacert" default:"" doc:"PEM file with the certificate authorities LDAPS and StartTLS server certificates are checked against. Empty uses the system's authorities."`
	LDAPBindUser            string `toml:"ldap_bind_user" default:"" doc:"DN of the service account Roost searches the directory with. Empty binds anonymously."`
	LDAPBindPasswd          string `toml:"ldap_bind_passwd" default:"" doc:"Password of 'ldap_bind_user'."`
	LDAPSearchBase          string `toml:"ldap_search_base" default:"" doc:"DN under which users are searched (subtree), e.g. 'dc=example,dc=com'. Required with 'user_plugin = \"ldap\"'."`
	LDAPUserSearchFilter    string `toml:"ldap_user_search_filter" default:"" doc:"LDAP filter (RFC 4515) every user entry must match, combined with the attribute looked up. Empty uses the preset's."`
	LDAPUserUniqueAttribute string `toml:"ldap_user_unique_attribute" default:"" doc:"Attribute that identifies a user for good, even across renames (its Roost user and store stay the same). Empty uses the preset's ('entryUUID', 'objectGUID')."`
	LDAPLoginnameAttribute  string `toml:"ldap_loginname_attribute" default:"" doc:"Attribute holding the login name. Empty uses the preset's ('uid', 'sAMAccountName')."`
	LDAPEmailAttribute      string `toml:"ldap_emailaddress_attribute" default:"" doc:"Attribute holding the primary mail address. Empty uses the preset's ('mail')."`
	LDAPEmailAliasesAttr    string `toml:"ldap_emailaliases_attribute" default:"" doc:"Attribute holding further mail addresses (an 'smtp:' prefix, as in AD's 'proxyAddresses', is removed). Empty uses the preset's."`
	LDAPFullnameAttribute   string `toml:"ldap_fullname_attribute" default:"" doc:"Attribute holding the display name. Empty uses the preset's ('cn', 'displayName')."`
	LDAPNonactiveAttribute  string `toml:"ldap_nonactive_attribute" default:"" doc:"Attribute marking a user who may not log in. Empty uses the preset's ('userAccountControl' for 'ad', none for 'openldap')."`
	LDAPNonactiveValue      string `toml:"ldap_nonactive_value" default:"" doc:"With 'ldap_nonactive_attribute': the value that marks a non-active user, e.g. '1' or 'TRUE'. Empty means any value does, unless 'ldap_nonactive_bitmask' is set."`
	LDAPNonactiveBitmask    int    `toml:"ldap_nonactive_bitmask" default:"0" doc:"With 'ldap_nonactive_attribute': the user is non-active when the attribute, read as an integer, has any of these bits (AD: 2, ACCOUNTDISABLE). 0 compares with 'ldap_nonactive_value' instead. The 'ad' preset sets 2 when 'ldap_nonactive_attribute' is empty."`
	LDAPIsadminAttribute    string `toml:"ldap_isadmin_attribute" default:"" doc:"Attribute whose value gives the user's admin level as in Kopano: '1' administers the user's tenant, '2' the whole system, anything else none. Empty: admin levels are managed in Roost."`
	LDAPNetworkTimeout      int    `toml:"ldap_network_timeout" default:"10" doc:"Seconds to wait for an LDAP server to connect or answer before trying the next one."`
	LDAPAuthCacheTTL        int    `toml:"ldap_auth_cache_ttl" default:"300" doc:"With 'user_plugin = \"ldap\"': seconds a login verified by the directory is trusted from the credential cache instead of 'auth_cache_ttl' (the shorter of the two applies). Roost never sees directory password hashes, so a cached login cannot notice a password changed or an account disabled in the directory before this runs out. 0 asks the directory at every login."`
	LDAPTenant              string `toml:"ldap_tenant" default:"default" doc:"Roost tenant that users found in the directory are created in (created if missing). With 'ldap_company_search_filter', the tenant of the users and groups outside every company."`
	LDAPGroupSearchFilter   string `toml:"ldap_group_search_filter" default:"" doc:"LDAP filter every group entry matches; groups are read by 'roost admin directory sync' (and the periodic sync). Empty uses the preset's ('(objectClass=groupOfNames)', AD '(objectClass=group)')."`
	LDAPGroupnameAttribute  string `toml:"ldap_groupname_attribute" default:"" doc:"Attribute holding a group's name (its Roost group name, ACL subject 'group:NAME'). Empty: 'cn'."`
	LDAPGroupUniqueAttr     string `toml:"ldap_group_unique_attribute" default:"" doc:"Attribute that identifies a group for good, even across renames: the directory sync renames the Roost group (its members, address and ACL entries go with it) when the group's name changes, and deletes the Roost groups whose entry is gone. Empty uses 'ldap_user_unique_attribute' or the preset's ('entryUUID', 'objectGUID')."`
	LDAPGroupEmailAttribute string `toml:"ldap_group_emailaddress_attribute" default:"" doc:"Attribute holding a group's mail address (mail sent to it goes to its members). Empty: 'ldap_emailaddress_attribute'."`
	LDAPGroupMembersAttr    string `toml:"ldap_groupmembers_attribute" default:"" doc:"Attribute of a group listing its members. Empty uses the preset's ('member')."`
	LDAPGroupMembersType    string `toml:"ldap_groupmembers_attribute_type" default:"" doc:"What 'ldap_groupmembers_attribute' holds: 'dn' (member DNs: users, and groups whose members are included in turn, cycles ignored) or 'text' (values of 'ldap_groupmembers_relation_attribute', e.g. 'memberUid' holding the users' 'uid'). Empty: 'dn'."`
	LDAPGroupMembersRelAttr string `toml:"ldap_groupmembers_relation_attribute" default:"" doc:"With 'ldap_groupmembers_attribute_type = \"text\"': the user attribute the member values name. Empty: 'ldap_loginname_attribute'."`
	LDAPGroupSecurityAttr   string `toml:"ldap_group_security_attribute" default:"" doc:"Attribute telling a security group (grants permissions through ACLs) from a distribution group (mail only). Empty: every group is a security group, except with the 'ad' preset, which reads 'groupType'."`
	LDAPGroupSecurityType   string `toml:"ldap_group_security_attribute_type" default:"" doc:"How 'ldap_group_security_attribute' is read: 'boolean' ('1', 'TRUE' or 'yes' is a security group) or 'ads' (AD's 'groupType': bit 0x80000000 is a security group). Empty: 'boolean', 'ads' with the 'ad' preset."`
	LDAPGroupHiddenAttr     string `toml:"ldap_group_hidden_attribute" default:"" doc:"Attribute hiding a group, or a contact (ldap_contact_search_filter), from the address book when it is '1' or 'TRUE' (Kopano's 'kopanoHidden', AD's 'msExchHideFromAddressLists'). Empty: no group is hidden, and contacts' hidden flag is left to administrators."`
	LDAPDynGroupFilter      string `toml:"ldap_dynamicgroup_search_filter" default:"" doc:"LDAP filter matching dynamic group entries (Kopano's '(objectClass=kopano-dynamicgroup)'): each becomes a Roost group whose members are the users matching the entry's own filter, recomputed at every directory sync. Empty: no dynamic groups."`
	LDAPDynGroupNameAttr    string `toml:"ldap_dynamicgroup_name_attribute" default:"cn" doc:"Attribute holding a dynamic group's name."`
	LDAPDynGroupFilterAttr  string `toml:"ldap_dynamicgroup_filter_attribute" default:"kopanoFilter" doc:"Attribute of a dynamic group holding its LDAP filter, e.g. '(mail=*@example.de)'; it is combined with 'ldap_user_search_filter'."`
	LDAPDynGroupUniqueAttr  string `toml:"ldap_dynamicgroup_unique_attribute" default:"" doc:"Attribute that identifies a dynamic group for good, even across renames: the directory sync renames the Roost group (its members and ACL entries go with it) when the entry's name changes, and deletes the Roost groups whose entry is gone. Empty uses 'ldap_group_unique_attribute' ('entryUUID', 'objectGUID'). With the name attribute ('cn') a renamed dynamic group is a new group: the old one is deleted, with the ACL entries naming it."`
	LDAPDynGroupBaseAttr    string `toml:"ldap_dynamicgroup_search_base_attribute" default:"kopanoBase" doc:"Attribute of a dynamic group holding the DN its filter searches under (Kopano's 'kopanoBase'); an entry without it searches under 'ldap_search_base'. A base outside 'ldap_search_base' is refused: the group is skipped with a warning and its Roost group stays as it was."`
	LDAPCompanyFilter       string `toml:"ldap_company_search_filter" default:"" doc:"LDAP filter matching company entries (Kopano's '(objectClass=kopano-company)', or organizational units): each company is a Roost tenant, named by 'ldap_companyname_attribute', holding the users and groups whose entries are below it. Users and groups outside every company are in 'ldap_tenant'. Empty: one tenant."`
	LDAPCompanyNameAttr     string `toml:"ldap_companyname_attribute" default:"ou" doc:"Attribute holding a company's name, the name of its Roost tenant."`
	LDAPCompanyUniqueAttr   string `toml:"ldap_company_unique_attribute" default:"" doc:"Attribute that identifies a company for good, even across renames: the directory sync renames the company's tenant when its name changes. Empty uses 'ldap_user_unique_attribute' or the preset's ('entryUUID', 'objectGUID'). With the name attribute ('ou', as Kopano's documents set it) a renamed company is a new tenant."`
	LDAPCompanyScope        string `toml:"ldap_company_scope" default:"sub" doc:"Where company entries are searched: 'sub', the whole subtree of 'ldap_search_base', or 'one', its direct children only."`
	LDAPCompanyViewAttr     string `toml:"ldap_company_view_attribute" default:"" doc:"Attribute of a company listing the companies that may see its address book and share with its users (Kopano's 'kopanoViewPrivilege'): the directory sync makes the tenant's viewers exactly these. Empty: viewers are managed in Roost ('roost admin tenant')."`
	LDAPCompanyViewType     string `toml:"ldap_company_view_attribute_type" default:"text" doc:"What 'ldap_company_view_attribute' holds: 'text' (values of 'ldap_company_view_relation_attribute' of the company entries) or 'dn' (DNs of company entries)."`
	LDAPCompanyViewRelAttr  string `toml:"ldap_company_view_relation_attribute" default:"" doc:"With 'ldap_company_view_attribute_type = \"text\"': the company attribute the values name. Empty: 'ldap_company_unique_attribute' when it is set (as in Kopano), else 'ldap_companyname_attribute'."`
	LDAPCompanyAdminAttr    string `toml:"ldap_company_admin_attribute" default:"" doc:"Attribute of a company listing the users, of any company, who administer it (Kopano's 'kopanoAdminPrivilege'): the directory sync makes the tenant's administrators exactly these. As in Kopano, such a user needs view rights on the company too to see its stores. Empty: tenant administrators are managed in Roost ('roost admin tenant')."`
	LDAPCompanyAdminType    string `toml:"ldap_company_admin_attribute_type" default:"text" doc:"What 'ldap_company_admin_attribute' holds: 'text' (values of 'ldap_company_admin_relation_attribute' of the user entries) or 'dn' (DNs of user entries)."`
	LDAPCompanyAdminRelAttr string `toml:"ldap_company_admin_relation_attribute" default:"" doc:"With 'ldap_company_admin_attribute_type = \"text\"': the user attribute the values name. Empty: 'ldap_user_unique_attribute' when it is set (as in Kopano, e.g. 'uidNumber'), else 'ldap_loginname_attribute'."`
	LDAPUDefQuotaOverAttr   string `toml:"ldap_userdefault_quotaoverride_attribute" default:"" doc:"Attribute of a company that, '1' or 'TRUE', gives its users without a quota of their own the levels of the three 'ldap_userdefault_' quota attributes instead of the global 'quota_' levels ('kopanoUserDefaultQuotaOverride'). Applied by the directory sync. Empty: the tenant's user quota defaults are managed in Roost. (A company's own warning level is read with 'ldap_quotaoverride_attribute' and 'ldap_warnquota_attribute' on the company entry, as in Kopano.)"`
	LDAPUDefWarnQuotaAttr   string `toml:"ldap_userdefault_warnquota_attribute" default:"" doc:"Attribute of a company with its users' default warning quota level, in units of 'ldap_quota_multiplier' ('kopanoUserDefaultQuotaWarn')."`
	LDAPUDefSoftQuotaAttr   string `toml:"ldap_userdefault_softquota_attribute" default:"" doc:"Attribute of a company with its users' default soft quota level ('kopanoUserDefaultQuotaSoft')."`
	LDAPUDefHardQuotaAttr   string `toml:"ldap_userdefault_hardquota_attribute" default:"" doc:"Attribute of a company with its users' default hard quota level ('kopanoUserDefaultQuotaHard')."`
	LDAPAddrListFilter      string `toml:"ldap_addresslist_search_filter" default:"" doc:"LDAP filter matching address list entries (Kopano's '(objectClass=kopano-addresslist)'): named views of the address book, each holding the users its own filter selects, offered to clients' address book searches. Empty: no address lists."`
	LDAPAddrListNameAttr    string `toml:"ldap_addresslist_name_attribute" default:"cn" doc:"Attribute holding an address list's name."`
	LDAPAddrListFilterAttr  string `toml:"ldap_addresslist_filter_attribute" default:"kopanoFilter" doc:"Attribute of an address list holding its LDAP filter, combined with 'ldap_user_search_filter'."`
	LDAPAddrListBaseAttr    string `toml:"ldap_addresslist_search_base_attribute" default:"kopanoBase" doc:"Attribute of an address list holding the DN its filter searches under (Kopano's 'kopanoBase'); a list without it searches under 'ldap_search_base'. A list whose base is outside 'ldap_search_base' is left out with a warning."`
	LDAPContactFilter       string `toml:"ldap_contact_search_filter" default:"" doc:"LDAP filter matching contacts: entries with a mail address and no account (Kopano's '(objectClass=kopano-contact)'), found by clients' address book searches with their 'ldap_fullname_attribute' and 'ldap_emailaddress_attribute'. Empty: no contacts."`
	LDAPSendasAttribute     string `toml:"ldap_sendas_attribute" default:"" doc:"Attribute of a user listing who may send as that user ('kopanoSendAsPrivilege'). Applied by the directory sync. Empty: send-as is managed in Roost."`
	LDAPSendasType          string `toml:"ldap_sendas_attribute_type" default:"dn" doc:"What 'ldap_sendas_attribute' holds: 'dn' (DNs of user entries) or 'text' (values of 'ldap_sendas_relation_attribute')."`
	LDAPSendasRelAttr       string `toml:"ldap_sendas_relation_attribute" default:"" doc:"With 'ldap_sendas_attribute_type = \"text\"': the user attribute the values name. Empty: 'ldap_loginname_attribute'."`
	LDAPQuotaOverrideAttr   string `toml:"ldap_quotaoverride_attribute" default:"" doc:"Attribute that, '1' or 'TRUE', gives the user the quota levels of the three quota attributes instead of the tenant's or global defaults ('kopanoQuotaOverride'). Empty: quotas are managed in Roost."`
	LDAPWarnQuotaAttr       string `toml:"ldap_warnquota_attribute" default:"" doc:"Attribute with the user's warning quota level in units of 'ldap_quota_multiplier' ('kopanoQuotaWarn')."`
	LDAPSoftQuotaAttr       string `toml:"ldap_softquota_attribute" default:"" doc:"Attribute with the user's soft quota level ('kopanoQuotaSoft')."`
	LDAPHardQuotaAttr       string `toml:"ldap_hardquota_attribute" default:"" doc:"Attribute with the user's hard quota level ('kopanoQuotaHard')."`
	LDAPQuotaMultiplier     int    `toml:"ldap_quota_multiplier" default:"1048576" doc:"Bytes per unit of the quota attributes: 1048576 reads them as MB, as Kopano's schema has them."`
	LDAPEnabledFeaturesAttr string `toml:"ldap_enabled_features_attribute" default:"" doc:"Attribute listing features enabled for the user although 'disabled_features' disables them ('kopanoEnabledFeatures'; 'imap', 'pop3', …)."`
	LDAPDisabledFeatAttr    string `toml:"ldap_disabled_features_attribute" default:"" doc:"Attribute listing features disabled for the user ('kopanoDisabledFeatures')."`
	LDAPUserServerAttr      string `toml:"ldap_user_server_attribute" default:"" doc:"Attribute naming the node that holds the user's store ('kopanoUserServer'), kept as the user's home node. Empty: home nodes are managed in Roost."`
	LDAPPageSize            int    `toml:"ldap_page_size" default:"500" doc:"Entries per page when the directory sync reads the whole directory (RFC 2696 paged results; AD answers at most 1000 a page)."`
	LDAPSyncInterval        int    `toml:"ldap_sync_interval" default:"0" doc:"With 'user_plugin = \"ldap\"' or '\"unix\"': minutes between directory syncs run by 'roost serve' with the 'jobs' role (as 'roost admin directory sync' does: users, groups, renames, vanished users' stores orphaned). 0 never syncs on its own: users are then created at first login or delivery, and groups and vanished users wait for 'roost admin directory sync'."`

	UnixPasswdFile      string   `toml:"unix_passwd_file" default:"/etc/passwd" doc:"With 'user_plugin = \"unix\"': the passwd(5) file users come from (login, uid, full name from the GECOS field, shell)."`
	UnixShadowFile      string   `toml:"unix_shadow_file" default:"/etc/shadow" doc:"With 'user_plugin = \"unix\"': the shadow(5) file with the password hashes (yescrypt '$y$', SHA-512 '$6$' and SHA-256 '$5$' crypt; other methods are refused with a warning in the log). Roost must be able to read it."`
	UnixGroupFile       string   `toml:"unix_group_file" default:"/etc/group" doc:"With 'user_plugin = \"unix\"': the group(5) file groups come from (read by the directory sync)."`
	UnixMinUserUID      int      `toml:"unix_min_user_uid" default:"1000" doc:"With 'user_plugin = \"unix\"': the lowest uid of a Roost user (Kopano's 'min_user_uid'); system accounts below it are ignored."`
	UnixMaxUserUID      int      `toml:"unix_max_user_uid" default:"59999" doc:"With 'user_plugin = \"unix\"': the highest uid of a Roost user ('max_user_uid'; 65534, nobody, is above it)."`
	UnixMinGroupGID     int      `toml:"unix_min_group_gid" default:"1000" doc:"With 'user_plugin = \"unix\"': the lowest gid of a Roost group ('min_group_gid')."`
	UnixMaxGroupGID     int      `toml:"unix_max_group_gid" default:"59999" doc:"With 'user_plugin = \"unix\"': the highest gid of a Roost group ('max_group_gid')."`
	UnixExceptUserUIDs  []int    `toml:"unix_except_user_uids" default:"" doc:"With 'user_plugin = \"unix\"': uids in the uid range that are not Roost users (Kopano's 'except_user_uids'), e.g. [1001, 1005]: a service account that must not get a mailbox. Such an account cannot log in; a user that was synced before is deleted by the next directory sync and their store kept as an orphan."`
	UnixExceptGroupGIDs []int    `toml:"unix_except_group_gids" default:"" doc:"With 'user_plugin = \"unix\"': gids in the gid range that are not Roost groups (Kopano's 'except_group_gids')."`
	UnixNonLoginShells  []string `toml:"unix_non_login_shell" default:"/usr/sbin/nologin,/sbin/nologin,/bin/false,/usr/bin/false" doc:"With 'user_plugin = \"unix\"': shells that mark a non-active user (Kopano's 'non_login_shell'): a shared mailbox, room or equipment that has a store and receives mail but cannot log in."`
	UnixDefaultDomain   string   `toml:"unix_default_domain" default:"" doc:"With 'user_plugin = \"unix\"': the mail domain of the users ('default_domain'): user 'ann' receives 'ann@DOMAIN'. Required with the unix plugin."`
	UnixTenant          string   `toml:"unix_tenant" default:"default" doc:"With 'user_plugin = \"unix\"': the Roost tenant the system's users and groups are in (created if missing)."`

	QuotaWarn         int  `toml:"quota_warn" default:"0" reload:"true" doc:"Default store size in MB at which a user is sent a warning. 0 is no limit. Users and tenants can override the quota keys."`
	QuotaSoft         int  `toml:"quota_soft" default:"0" reload:"true" doc:"Default store size in MB above which the user can no longer send mail. 0 is no limit. Must not be below 'quota_warn'."`
	QuotaHard         int  `toml:"quota_hard" default:"0" reload:"true" doc:"Default store size in MB above which the store accepts no new items, delivered mail included. 0 is no limit. Must not be below 'quota_soft' or 'quota_warn'."`
	QuotaHardTempfail bool `toml:"quota_hard_tempfail" default:"false" doc:"Answer LMTP deliveries to a mailbox over its hard quota with a temporary error (452 4.2.2), so the MTA keeps the message and retries until the user makes room or the MTA's queue lifetime ends, instead of bouncing it at once (552 5.2.2)."`
	CompanyQuotaWarn  int  `toml:"companyquota_warn" default:"0" reload:"true" doc:"Default size in MB of all stores of one tenant at which the tenant's administrators are warned. 0 is no limit."`
	QuotaMessages     int  `toml:"quota_messages" default:"0" reload:"true" doc:"Most messages (items of any kind) one user's store may hold; beyond it the store accepts no new items, delivered mail included, as over 'quota_hard'. IMAP clients see it as the MESSAGE quota resource. 0 is no limit."`

	LogLevel  string `toml:"log_level" default:"info" reload:"true" doc:"Least severe messages logged: 'debug', 'info', 'warn' or 'error'. Kopano's numbers are accepted too: 6 is 'debug', 4 and 5 are 'info', 3 is 'warn', and 0 to 2 are 'error' (errors are always logged)."`
	LogFile   string `toml:"log_file" default:"-" doc:"Where the log goes: '-' is standard error, 'syslog' the local syslog daemon (standard error if it cannot be reached), and anything else a file that log lines are appended to. A file is reopened on SIGHUP, for logrotate."`
	LogFormat string `toml:"log_format" default:"text" doc:"Format of log lines: 'text' (key=value pairs) or 'json' (one object per line)."`

	LogLevels    []string `toml:"log_levels" default:"" reload:"true" doc:"Levels for single subsystems, overriding 'log_level' for them, each 'subsystem=level', e.g. 'imap=debug,queue=warn'. The subsystem is a log line's 'proto' attribute: 'imap', 'pop3', 'lmtp', 'submission', 'managesieve', 'dav', 'jmap', 'eas', 'admin', 'auth', 'ldap', 'delivery', 'queue', 'itip', 'onboard', 'quota-monitor'. Levels as in 'log_level'."`
	AuditLogFile string   `toml:"audit_log_file" default:"" doc:"File the audit log is appended to, one JSON object per line: every authentication (success and failure, with protocol, mechanism and client address), every change made through the admin API (who, what, which object) and every opening of another user's folder (who, whose, which folder, with which rights). Reopened on SIGHUP, for logrotate. 'syslog' sends each object to the local syslog daemon instead (facility authpriv, tag roost-audit). Empty switches the audit log off. See docs/operations.md, Audit log."`

	AllowPlaintextAuth bool `toml:"allow_plaintext_auth" default:"false" doc:"Allow passwords on a plain connection that has not started TLS (IMAP LOGIN, AUTH PLAIN, POP3 USER/PASS). Leave off unless the network itself is trusted."`
	SASLBearer         bool `toml:"sasl_oauthbearer" default:"true" doc:"Offer SASL OAUTHBEARER (RFC 7628) and XOAUTH2 on IMAP, POP3, SMTP submission and ManageSieve, accepting Roost's bearer tokens ('roost admin token create LOGIN --name N --scope imap,smtp,...') whose scope names that protocol. Like passwords, only on TLS connections unless 'allow_plaintext_auth' is set. false stops offering them; HTTP 'Authorization: Bearer' on JMAP and DAV is not affected."`

	OIDCProviderIssuer   string   `toml:"oidc_provider_issuer" default:"" doc:"Issuer URL of Roost's own OpenID Connect provider (discovery at ISSUER/.well-known/openid-configuration once a client is registered with 'roost admin oidc client add'): the https URL clients reach Roost's HTTPS listener at, without a path. Empty means https://PUBLIC_HOSTNAME ('public_hostname', else 'server_name'). See docs/sso.md."`
	OIDCIssuer           string   `toml:"oidc_issuer" default:"" doc:"Issuer URL of an external OpenID Connect provider (Keycloak, Dex, Authentik, Entra ID, ...) whose users sign in to Roost: its JWT access tokens are accepted as bearer tokens by JMAP and DAV and through OAUTHBEARER/XOAUTH2 by IMAP, POP3, SMTP submission and ManageSieve, and the web client signs in at /auth/oidc/login. The discovery document is read from the issuer's /.well-known/openid-configuration, the signing keys from its jwks_uri (refetched hourly and when a token names an unknown key). Empty switches the relying party off. See docs/sso.md."`
	OIDCClientID         string   `toml:"oidc_client_id" default:"" doc:"Roost's client id at 'oidc_issuer'. Access tokens must name it (or one of 'oidc_audiences') in 'aud'; ID tokens of the browser sign-in must name it."`
	OIDCClientSecret     string   `toml:"oidc_client_secret" default:"" doc:"Roost's client secret at 'oidc_issuer' (HTTP Basic at the token endpoint). Empty for a public client, which relies on PKCE alone."`
	OIDCAudiences        []string `toml:"oidc_audiences" default:"" doc:"The 'aud' values an access token of 'oidc_issuer' may name, when they differ from 'oidc_client_id' (a provider that issues access tokens for an API audience). Empty means 'oidc_client_id'."`
	OIDCScopes           []string `toml:"oidc_scopes" default:"openid,email,profile" doc:"Scopes asked for at the browser sign-in ('openid' is always asked)."`
	OIDCIntrospectionURL string   `toml:"oidc_introspection_url" default:"" doc:"Token introspection endpoint (RFC 7662) of 'oidc_issuer', for providers whose access tokens are opaque rather than JWTs: a bearer token that is not a JWT is sent there (authenticated as 'oidc_client_id' and 'oidc_client_secret'); an active answer is trusted for at most a minute. Empty: only JWT access tokens are accepted."`
	OIDCLoginClaim       string   `toml:"oidc_login_claim" default:"email" doc:"Claim of the provider's tokens naming the Roost user, by login or by one of the user's addresses: 'email' (a token whose email_verified is false is refused), 'preferred_username', 'sub', or any string claim."`
	OIDCRedirectURI      string   `toml:"oidc_redirect_uri" default:"" doc:"The browser sign-in's callback as registered at the provider. Empty means https://PUBLIC_HOSTNAME/auth/oidc/callback ('public_hostname', else 'server_name')."`
	KerberosKeytab       string   `toml:"kerberos_keytab" default:"" doc:"Keytab of Roost's Kerberos service principals (made with 'kadmin ktadd' or 'ktpass', readable by Roost only). Setting it turns Kerberos sign-in on: HTTP Negotiate (SPNEGO) on JMAP, CalDAV/CardDAV and the web client's '/auth/negotiate', and SASL GSSAPI on IMAP, POP3, SMTP submission and ManageSieve. Empty: no Kerberos. See docs/kerberos.md."`
	KerberosPrincipals   []string `toml:"kerberos_principals" default:"" doc:"Service principals accepted, e.g. 'HTTP/mail.example.org@EXAMPLE.ORG,imap/mail.example.org@EXAMPLE.ORG,smtp/...,pop/...,sieve/...'. Each protocol accepts only its own service ('HTTP', 'imap', 'pop', 'smtp', 'sieve'). Empty: any principal of the keytab with the right service."`
	KerberosRealms       []string `toml:"kerberos_realms" default:"" doc:"Realms whose users sign in with their principal's name as the Roost login: 'alice@EXAMPLE.ORG' is user 'alice'. A principal of another realm, or with an instance ('alice/admin@...'), is refused unless 'kerberos_map' names it. Empty with a keytab set: the keytab's own realms."`
	KerberosMap          []string `toml:"kerberos_map" default:"" doc:"Principals mapped to a Roost login or e-mail address, each 'principal=login', e.g. 'alice@AD.EXAMPLE.ORG=alice@example.org'. Wins over 'kerberos_realms'."`

	AuthCacheSize         int `toml:"auth_cache_size" default:"10000" doc:"Most verified credentials kept in memory (Dovecot's auth_cache), shared by every protocol, so that a client logging in again with the same password does not pay for an argon2id check. Each entry holds a keyed hash of the password (HMAC-SHA256 under a random key made at start), never the password, and counts only while the user's stored password hash, tenant and active state are unchanged: a password change or a disabled account takes effect at once. Failures are never cached. 0 turns the cache off."`
	AuthCacheTTL          int `toml:"auth_cache_ttl" default:"3600" doc:"Seconds a verified credential stays in the cache after its argon2id check, however often it is used. 0 turns the cache off."`
	PasswordArgon2Memory  int `toml:"password_argon2_memory" default:"19456" reload:"true" doc:"Memory of one argon2id password hash, in KiB (OWASP's 19 MiB by default). Each check running at once holds this much. New and changed passwords are hashed with the argon2id keys; a stored hash made with other values still verifies and is replaced at the user's next successful login. At least 8 times 'password_argon2_threads', at most 4194304 (4 GiB)."`
	PasswordArgon2Time    int `toml:"password_argon2_time" default:"2" reload:"true" doc:"Passes of argon2id over its memory, 1 to 16: the CPU cost of one password check grows in proportion."`
	PasswordArgon2Threads int `toml:"password_argon2_threads" default:"1" reload:"true" doc:"Lanes of argon2id, 1 to 255. More lanes let one check use more cores; with many logins at once 1 is best."`

	ProxyProtocolTrusted []string `toml:"proxy_protocol_trusted" default:"" doc:"Addresses or networks (CIDR, e.g. '10.0.0.5' or '10.0.0.0/24') of load balancers that open every connection with a PROXY protocol header (HAProxy 'send-proxy' or 'send-proxy-v2'; versions 1 and 2). A connection from one of them must begin with the header, and Roost then sees the client the header names: in logs, the throttle, 'max_connections_per_ip', the audit log and 'roost stats'. A connection from such an address without a valid header is closed, since it could pass as the load balancer; a v2 LOCAL header (a health check) keeps the balancer's address. Connections from other addresses are served as usual. Applies to the IMAP, POP3, SMTP, submission, LMTP, ManageSieve, HTTP and HTTPS listeners, not to the admin and metrics listeners. List only the load balancers: a sharded frontend passes the client's address to its backends itself. Empty: no PROXY protocol. See docs/cluster.md."`

	MaxConnectionsPerIP   int `toml:"max_connections_per_ip" default:"50" doc:"Most simultaneous connections from one IP address to each of IMAP, POP3, SMTP submission and ManageSieve (counted per service). 0 is no limit. LMTP, which only trusted MTAs reach, is not limited."`
	MaxConnectionsPerUser int `toml:"max_connections_per_user" default:"20" doc:"Most simultaneous IMAP sessions of one user. 0 is no limit. (POP3 sessions do not count yet.)"`
	MaxLineLength         int `toml:"max_line_length" default:"65536" doc:"Longest IMAP command line accepted, in bytes; longer lines are refused with BAD. At least 1000. POP3 and LMTP use the limits of their RFCs (512 and 4096 bytes)."`
	MaxMessageSize        int `toml:"max_message_size" default:"50" doc:"Largest message accepted, in MB, by submission, LMTP, IMAP APPEND and the HTTP APIs. Announced as SMTP SIZE (RFC 1870) and IMAP APPENDLIMIT (RFC 7889)."`

	DisabledFeatures []string `toml:"disabled_features" default:"" doc:"Features disabled for every user unless enabled for the user ('roost admin user update LOGIN --enable-feature F'): any of 'imap', 'pop3', 'mobile' (ActiveSync), 'web' (the web client) and 'dav' (CalDAV and CardDAV)."`

	SpamHeaders        []string `toml:"spam_headers" default:"X-Spam-Flag: YES,X-Spam-Status: Yes,X-Spam: Yes" doc:"Header tests that mark an incoming message as spam, each 'Field: value-prefix' (case-insensitive), e.g. the verdicts SpamAssassin and rspamd add in front of Roost. Spam is delivered to the Junk folder, without Sieve, out-of-office or hooks. Kopano's 'spam_header_name' and 'spam_header_value' are one entry here. Empty switches header tests off."`
	SpamChecker        string   `toml:"spam_checker" default:"" doc:"Optional program (with arguments, split at spaces) that reads each incoming message on standard input: exit status 1 means spam ('spamc -c'); status 0 judges the header lines it prints with 'spam_headers' ('spamc', 'rspamc --mime'). Anything else, or a timeout, counts as not spam and is logged."`
	SpamCheckerTimeout int      `toml:"spam_checker_timeout" default:"30" doc:"Seconds 'spam_checker' (or the rspamd check) may take for one message."`
	SpamRspamdURL      string   `toml:"spam_rspamd_url" default:"" doc:"Base URL of an rspamd normal worker, e.g. 'http://127.0.0.1:11333': each incoming message is checked on its /checkv2 and is spam when rspamd's action is 'reject', 'soft reject', 'add header' or 'rewrite subject'. Used besides 'spam_headers' and 'spam_checker'; a failure counts as not spam and is logged."`

	SpamLearnRspamdURL      string `toml:"spam_learn_rspamd_url" default:"" doc:"Base URL of rspamd's controller worker, e.g. 'http://127.0.0.1:11334': a message a user puts in Junk (by any protocol) is trained on /learnspam, one moved out of Junk (not to Trash) on /learnham, asynchronously and at most once per message and direction (kopano-spamd). Empty: no rspamd training."`
	SpamLearnRspamdPassword string `toml:"spam_learn_rspamd_password" default:"" doc:"The rspamd controller password ('password' or 'enable_password' in worker-controller.inc) sent with learn requests. Keep the configuration file readable by Roost only."`
	SpamLearnSpamCommand    string `toml:"spam_learn_spam_command" default:"" doc:"Program (with arguments, split at spaces) that reads a message put in Junk on standard input and trains it as spam, e.g. 'sa-learn --spam' (kopano-spamd's spam_dir). Exit status 0 = trained. Used besides 'spam_learn_rspamd_url'."`
	SpamLearnHamCommand     string `toml:"spam_learn_ham_command" default:"" doc:"Program (with arguments) that trains a message moved out of Junk as ham, e.g. 'sa-learn --ham' (kopano-spamd's ham_dir)."`
	SpamLearnQueue          int    `toml:"spam_learn_queue" default:"1000" doc:"Most messages waiting to be trained; more are logged and not trained. Training never holds mail back."`
	SpamLearnTimeout        int    `toml:"spam_learn_timeout" default:"60" doc:"Seconds one training request or program run may take; failures are retried 5 times with growing pauses."`

	JMAPPushAllowedNetworks []string `toml:"jmap_push_allowed_networks" default:"" doc:"Networks (CIDR, e.g. '10.1.0.0/16' or 'fd00::/8') that JMAP push subscriptions may call back into although they are loopback, link-local, private or multicast. By default such callback URLs are refused, when a subscription is made and again at every connection (so a name that later resolves to an inner address is refused too): a JMAP client must not make the server reach internal services. Allow only the push gateways of your own network."`
	JMAPSendDelay           int      `toml:"jmap_send_delay" default:"0" doc:"Seconds a message sent through JMAP (EmailSubmission) waits with undoStatus 'pending' before it goes to the outbound queue, so that the user can still cancel it ('undo send'); at most 600 (the held message is a blob not yet referenced, which the blob sweep keeps for an hour). 0 sends at once."`

	AutorespondTimelimit int  `toml:"autorespond_timelimit" default:"86400" doc:"Least number of seconds between two out-of-office replies to the same sender (Kopano TIMELIMIT)."`
	AutorespondCC        bool `toml:"autorespond_cc" default:"false" doc:"Also answer out-of-office to mail that names the user only in Cc (Kopano AUTORESPOND_CC). By default only mail naming the user in To is answered."`
	AutorespondNorecip   bool `toml:"autorespond_norecip" default:"false" doc:"Also answer out-of-office to mail that does not name the user in To or Cc, as mail through a group or Bcc (Kopano AUTORESPOND_NORECIP)."`

	SearchIndex             bool `toml:"search_index" default:"true" doc:"Keep a full-text index of every store (headers, bodies, attachment text) next to the mail in the database, updated in the background from the change journal, and answer IMAP SEARCH TEXT, BODY, SUBJECT, FROM, TO, CC and BCC, JMAP Email/query's text filters and ActiveSync's mailbox Search and Find from it (docs/search.md). Off, every search reads the messages it tests and SEARCH=FUZZY is not offered."`
	SearchWorkers           int  `toml:"search_workers" default:"1" doc:"Stores indexed at once by the background indexer of a node running the 'jobs' role. Each worker takes at most one core while it extracts text; 1 keeps the indexer from slowing deliveries on a small server."`
	SearchMaxAttachmentSize int  `toml:"search_max_attachment_size" default:"20" doc:"Largest attachment, in MB after transfer decoding, whose text is extracted for the index; larger ones are indexed by name only."`
	SearchMaxText           int  `toml:"search_max_text" default:"1024" doc:"Most text indexed per message, in KB (1024 bytes), body and attachments together; the rest of a longer message is not searchable through the index."`
	SearchDocumentTimeout   int  `toml:"search_document_timeout" default:"10" doc:"Seconds (wall clock, and CPU seconds for an external extractor such as pdftotext) one attachment's text extraction may take; a document that takes longer is logged and skipped."`

	SieveMaxScriptSize int `toml:"sieve_max_script_size" default:"64" doc:"Largest Sieve script a user may store, in KB (1024 bytes)."`
	SieveMaxScripts    int `toml:"sieve_max_scripts" default:"32" doc:"Most Sieve scripts one user may store."`
	SieveMaxRedirects  int `toml:"sieve_max_redirects" default:"4" doc:"Most redirect actions one Sieve run may take."`

	DeliveryHookCommand string   `toml:"delivery_hook_command" default:"" doc:"Program (with arguments, split at spaces) run after each message is stored for a user, with the message on standard input and ROOST_SENDER, ROOST_RECIPIENT, ROOST_USER, ROOST_TENANT, ROOST_FOLDER_ID and ROOST_UID in its environment. A failure is logged; the delivery stands."`
	DeliveryHookURL     string   `toml:"delivery_hook_url" default:"" doc:"URL that gets each stored message in a POST (message/rfc822, with X-Roost-* headers carrying the same facts as 'delivery_hook_command'). A failure is logged; the delivery stands."`
	DeliveryHookTimeout int      `toml:"delivery_hook_timeout" default:"30" doc:"Seconds a delivery hook may take."`
	PublicDelivery      []string `toml:"public_delivery" default:"" doc:"Mail for these recipients goes to a folder of their tenant's public store instead of their own (kopano-dagent -P), each entry 'address-or-login=Folder/Path'. A missing public folder is a temporary delivery error."`

	SMTPServer         string `toml:"smtp_server" default:"" doc:"Relay (smart host) that receives all mail for remote recipients, as 'host' (port 25) or 'host:port' (Kopano spooler 'smtp_server'). Empty delivers directly to each recipient domain's MX hosts."`
	SMTPTLS            string `toml:"smtp_tls" default:"starttls" doc:"TLS towards 'smtp_server': 'starttls' (required, certificate verified against the system roots), 'tls' (implicit TLS, e.g. port 465) or 'none'. Direct MX delivery always uses STARTTLS when offered, without verification (RFC 7435)."`
	SMTPUsername       string `toml:"smtp_username" default:"" doc:"Login for AUTH at 'smtp_server'; empty sends without AUTH."`
	SMTPPassword       string `toml:"smtp_password" default:"" doc:"Password for 'smtp_username'. Keep the configuration file readable by Roost only."`
	QueueWorkers       int    `toml:"queue_workers" default:"4" doc:"Outbound deliveries run at the same time."`
	QueueRetryBase     int    `toml:"queue_retry_base" default:"5" doc:"Minutes before the first retry of a temporarily failed delivery; each further retry waits twice as long, up to 'queue_retry_max'."`
	QueueRetryMax      int    `toml:"queue_retry_max" default:"240" doc:"Most minutes between two retries."`
	QueueLifetime      int    `toml:"queue_lifetime" default:"120" doc:"Hours a message is retried before it is returned to its sender with a delivery status notification (5 days by default, as Postfix's maximal_queue_lifetime)."`
	QueueClaimLease    int    `toml:"queue_claim_lease" default:"1800" doc:"Seconds a message claimed by a node's outbound queue stays invisible to the other nodes' queues. A node that dies while delivering (kill -9, power loss) leaves its messages to another node once this has passed; it must exceed the longest delivery attempt (SMTP timeouts are minutes). At least 10."`
	QueueDelayWarning  int    `toml:"queue_delay_warning" default:"4" doc:"Hours after which senders who asked for it (DSN NOTIFY=DELAY) are told that a message is delayed."`
	SubmissionMaxRcpts int    `toml:"submission_max_recipients" default:"100" doc:"Most recipients of one submitted message."`
	SubmissionSentCopy bool   `toml:"submission_sent_copy" default:"true" doc:"Store a copy of every message submitted over SMTP in the sender's Sent folder (Kopano's spooler does). Turn off if your users' clients save their own copy over IMAP, or they get two."`

	DAVMaxResourceSize int `toml:"dav_max_resource_size" default:"10" doc:"Largest calendar object or contact a CalDAV/CardDAV client may store with one PUT, in MB."`
	DAVMaxResults      int `toml:"dav_max_results" default:"50000" doc:"Most responses in one CalDAV/CardDAV REPORT or Depth 1 PROPFIND; a larger answer ends with a 507 entry (sync-collection pages on, RFC 6578 §3.6)."`
	DAVMaxInstances    int `toml:"dav_max_instances" default:"2000" doc:"Most occurrences of one recurring event or task that a CalDAV calendar-query, an expanded calendar-data or a free/busy answer computes. An answer cut at this bound says so: a 507 entry with DAV:number-of-matches-within-limits in the REPORT, REQUEST-STATUS 2.11 in free/busy."`
	DAVAuthCacheTTL    int `toml:"dav_auth_cache_ttl" default:"0" doc:"Seconds a successful CalDAV/CardDAV login is remembered by the DAV server itself, skipping even the user lookup. A changed password or a disabled account takes effect for HTTP after at most this long. 0, the default, checks every request through the shared credential cache ('auth_cache_size'), which sees such changes at once."`
	DAVInboxDays       int `toml:"dav_schedule_inbox_days" default:"30" doc:"Days a copy of an iTIP message (invitation, reply, cancellation) stays in the user's CalDAV schedule inbox, where Apple's calendar clients look for new invitations; the event itself is delivered straight into the calendar. Copies are also removed when the user answers or deletes the event, or the client deletes them. 0 keeps no copies."`

	QuotaMonitorInterval int    `toml:"quota_monitor_interval" default:"60" doc:"Minutes between two runs of the quota monitor, which mails users over their warning, soft or hard quota (once a day per level) and tenant administrators when their tenant is over its warning quota. 0 switches it off."`
	QuotaWarningFrom     string `toml:"quota_warning_from" default:"" doc:"From field of quota warnings. Empty means postmaster at 'server_name'."`

	ArchiveInterval       int      `toml:"archive_interval" default:"1440" doc:"Minutes between two runs of the archiver (kopano-archiver), which copies the mail of users with an archive store ('roost admin archive attach') into it by the rules below; one node of a cluster runs it. 0 switches the periodic run off ('roost admin archive run' still works)."`
	ArchiveAfter          int      `toml:"archive_after" default:"30" reload:"true" doc:"Days after its internal date (arrival) a message is archived. 0 archives every message at the next run."`
	ArchiveMinSize        int      `toml:"archive_min_size" default:"0" reload:"true" doc:"Smallest message, in KB, that the archiver copies; smaller ones stay only in the user's store. 0 archives every size."`
	ArchiveExcludeFolders []string `toml:"archive_exclude_folders" default:"drafts,outbox,junk,trash" reload:"true" doc:"Folders the archiver leaves alone, with their subfolders: special-use roles ('inbox', 'drafts', 'sent', 'trash', 'junk', 'outbox', 'archive') or folder paths from the top of the store with '/' between levels (e.g. 'Projects/Secret'), compared without case."`
	ArchiveStubAfter      int      `toml:"archive_stub_after" default:"0" reload:"true" doc:"Days after its internal date an archived message is replaced in the user's store by a stub: its headers and a short text/plain body that names the archived copy, so the store shrinks while the message can still be found. 0 never stubs. Must be at least 'archive_after' when set."`
	ArchiveRemoveAfter    int      `toml:"archive_remove_after" default:"0" reload:"true" doc:"Days after its internal date an archived message (or its stub) is deleted from the user's store (soft-deleted, purged after 'softdelete_lifetime'); the archive keeps it. 0 never removes. Must be at least 'archive_after' when set."`
	ArchiveOnDelivery     bool     `toml:"archive_on_delivery" default:"false" reload:"true" doc:"LMTP delivery also copies each message into the recipient's archive store, if the recipient has one. A failure to write the archive fails the delivery temporarily (451), so that no message is accepted unarchived."`
	ArchiveOnSend         bool     `toml:"archive_on_send" default:"false" reload:"true" doc:"SMTP submission also copies the Sent copy of each message into the sender's archive store, if the sender has one (with 'submission_sent_copy'). A failure to write the archive refuses the message temporarily (451)."`
}

// Allowed values of the list and enumeration keys.
var (
	allRoles    = []string{"all", "imap", "pop3", "lmtp", "submission", "http", "managesieve", "admin", "jobs"}
	allFeatures = []string{"imap", "pop3", "mobile", "web", "dav"}
	allLocales  = []string{"en_US", "de_DE", "nl_NL", "fr_FR", "es_ES"}
	logLevels   = []string{"debug", "info", "warn", "error"}
	logFormats  = []string{"text", "json"}
)

// listenerKeys maps a listener name, as given to [Config.Listener], to its key.
var listenerKeys = map[string]string{
	"imap":        "imap_listen",
	"imaps":       "imaps_listen",
	"pop3":        "pop3_listen",
	"pop3s":       "pop3s_listen",
	"submission":  "submission_listen",
	"submissions": "submissions_listen",
	"lmtp":        "lmtp_listen",
	"http":        "http_listen",
	"https":       "https_listen",
	"managesieve": "managesieve_listen",
	"admin":       "admin_listen",
	"metrics":     "metrics_listen",
}

// Default returns the configuration used when no file is given: every key at
// the value of its `default` tag.
func Default() *Config {
	c := new(Config)
	applyDefaults(c)
	return c
}

// HasRole reports whether this process runs the service r ("imap",
// "jobs", …): roles lists it or lists "all".
func (c *Config) HasRole(r string) bool {
	return slices.Contains(c.Roles, "all") || slices.Contains(c.Roles, r)
}

// Listener returns the address of the named listener ("imap", "imaps",
// "pop3", "pop3s", "submission", "submissions", "lmtp", "http", "https",
// "managesieve", "admin"), or "" when it is disabled or the name is unknown.
// It does not look at roles; callers check [Config.HasRole] too.
// IsFrontend and IsBackend report the node's roles in the sharded mode.
func (c *Config) IsFrontend() bool { return slices.Contains(c.NodeRoles, "frontend") }

// IsBackend: see IsFrontend.
func (c *Config) IsBackend() bool { return slices.Contains(c.NodeRoles, "backend") }

func (c *Config) Listener(name string) string {
	key, ok := listenerKeys[name]
	if !ok {
		return ""
	}
	return listenAddr(fieldByKey(c, key).String())
}

// listenAddr maps the two spellings of a disabled listener to "".
func listenAddr(s string) string {
	if s == "off" {
		return ""
	}
	return s
}

// RelayAddr returns smtp_server with the default port 25 added when it
// has none, or "".
func (c *Config) RelayAddr() string {
	if c.SMTPServer == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(c.SMTPServer); err == nil {
		return c.SMTPServer
	}
	return net.JoinHostPort(c.SMTPServer, "25")
}

// LMTPSocket returns the path of the LMTP unix socket: lmtp_socket, or
// lmtp.sock in data_dir.
func (c *Config) LMTPSocket() string {
	if c.LMTPSocketPath != "" {
		return c.LMTPSocketPath
	}
	return filepath.Join(c.DataDir, "lmtp.sock")
}

// AdminSocket returns the path of the admin API unix socket: admin_socket,
// or admin.sock in data_dir.
func (c *Config) AdminSocket() string {
	if c.AdminSocketPath != "" {
		return c.AdminSocketPath
	}
	return filepath.Join(c.DataDir, "admin.sock")
}

// DatabaseURL returns the database driver, "sqlite" or "postgres", and the
// data source name to open: for SQLite a file path (with any "?…" query
// from the sqlite:// URL kept), for PostgreSQL the URL as configured.
func (c *Config) DatabaseURL() (driver, dsn string) {
	switch {
	case c.Database == "":
		return "sqlite", filepath.Join(c.DataDir, "roost.db")
	case strings.HasPrefix(c.Database, "sqlite://"):
		return "sqlite", strings.TrimPrefix(c.Database, "sqlite://")
	default:
		return "postgres", c.Database
	}
}

// Hostname returns server_name, or the machine's host name when it is empty,
// or "localhost" when even that is unknown.
func (c *Config) Hostname() string {
	if c.ServerName != "" {
		return c.ServerName
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// SlogLevel returns log_level as a [slog.Level].
func (c *Config) SlogLevel() slog.Level {
	l, _ := parseLogLevel(c.LogLevel)
	return l
}

// SubsystemLevels returns log_levels as subsystem → level (valid
// entries only; Validate reports the others).
func (c *Config) SubsystemLevels() map[string]slog.Level {
	out := map[string]slog.Level{}
	for _, e := range c.LogLevels {
		sub, lv, ok := strings.Cut(e, "=")
		if l, valid := parseLogLevel(strings.TrimSpace(lv)); ok && valid && strings.TrimSpace(sub) != "" {
			out[strings.TrimSpace(sub)] = l
		}
	}
	return out
}

// MaxMessageBytes returns max_message_size in bytes.
func (c *Config) MaxMessageBytes() int64 { return int64(c.MaxMessageSize) * MB }

// LogSubsystems are the values of the "proto" attribute that components'
// loggers carry, which log_levels may name (the doc of log_levels lists
// them too).
var LogSubsystems = []string{"imap", "pop3", "lmtp", "submission", "managesieve", "dav", "jmap", "eas", "admin", "auth", "ldap",
	"delivery", "queue", "itip", "onboard", "quota-monitor"}

// parseLogLevel accepts the names in logLevels and Kopano's numbers 0-6.
func parseLogLevel(s string) (slog.Level, bool) {
	switch s {
	case "debug", "6":
		return slog.LevelDebug, true
	case "info", "4", "5":
		return slog.LevelInfo, true
	case "warn", "3":
		return slog.LevelWarn, true
	case "error", "0", "1", "2":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// publicServices are the services public_ports may name.
var publicServices = []string{"imap", "imaps", "pop3", "pop3s", "submission", "submissions", "https"}

// PublicPortMap parses public_ports into service → port.
func (c *Config) PublicPortMap() (map[string]int, error) {
	out := map[string]int{}
	for _, e := range c.PublicPorts {
		svc, port, ok := strings.Cut(strings.TrimSpace(e), "=")
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if !ok || err != nil || n < 0 || n > 65535 || !slices.Contains(publicServices, strings.TrimSpace(svc)) {
			return nil, fmt.Errorf("%q is not 'service=port' with a service of %s", e, strings.Join(publicServices, ", "))
		}
		out[strings.TrimSpace(svc)] = n
	}
	return out, nil
}

// PublicHost returns public_hostname, or else Hostname (server_name).
func (c *Config) PublicHost() string {
	if c.PublicHostname != "" {
		return c.PublicHostname
	}
	return c.Hostname()
}
