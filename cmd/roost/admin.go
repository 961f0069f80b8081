package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/config"
)

// adminCmd is one `roost admin OBJECT VERB` command.
type adminCmd struct {
	object string
	verb   string   // "" for commands that are only an object (deliver)
	args   []string // names of the positional arguments, in order
	// optional names positional arguments that may follow args.
	optional []string
	syntax   string // everything after "roost admin", for usage lines
	help     string
	flags    []flagDef
	run      func(a *admin, cmd *adminCmd, in *input) error
}

func (c *adminCmd) name() string {
	if c.verb == "" {
		return c.object
	}
	return c.object + " " + c.verb
}

// admin is the state of one `roost admin` run.
type admin struct {
	ctx    context.Context
	c      *adminClient
	json   bool
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // progress bars
}

// adminObjects lists the objects in usage order, with their headings.
var adminObjects = []struct{ name, title string }{
	{"tenant", "Tenants (Kopano companies)"},
	{"domain", "Mail domains"},
	{"user", "Users"},
	{"oidc", "Roost's OpenID Connect provider: clients (Nextcloud, Grafana, ...) that sign users in with Roost"},
	{"token", "Bearer tokens (JMAP and DAV 'Authorization: Bearer', SASL OAUTHBEARER and XOAUTH2)"},
	{"group", "Groups"},
	{"directory", "LDAP directory (user_plugin = ldap)"},
	{"store", "Stores"},
	{"archive", "Archive stores and the archiver (kopano-archiver)"},
	{"calendar", "Calendars and tasks (import and export of .ics files)"},
	{"contacts", "Contacts (import and export of .vcf files)"},
	{"import", "Mail import (another IMAP server, mbox files, Maildir trees) with a progress bar"},
	{"export", "Export of a whole store (mbox or Maildir, .ics, .vcf)"},
	{"softdelete", "Soft-deleted items, folders and stores"},
	{"deliver", "Delivery"},
	{"device", "Mobile devices (ActiveSync)"},
	{"queue", "Outbound queue"},
	{"node", "Cluster nodes (docs/cluster.md)"},
	{"search", "Full-text search index"},
	{"status", "Server"},
}

// adminCmds is the whole grammar of `roost admin`. Quota values are whole
// MB (2^20 bytes), 0 switching the level off.
var adminCmds = []*adminCmd{
	{object: "tenant", verb: "create", args: []string{"NAME"}, syntax: "tenant create NAME",
		help: "create a tenant and its Everyone group", run: tenantCreate},
	{object: "tenant", verb: "delete", args: []string{"NAME"}, syntax: "tenant delete NAME",
		help: "delete a tenant that has no users, domains or orphaned stores left", run: tenantDelete},
	{object: "tenant", verb: "show", args: []string{"NAME"}, syntax: "tenant show NAME",
		help: "show a tenant's quotas, usage, viewers and administrators", run: tenantShow},
	{object: "tenant", verb: "list", syntax: "tenant list", help: "list tenants", run: tenantList},
	{object: "tenant", verb: "update", args: []string{"NAME"},
		syntax: "tenant update NAME [--quota-warn MB] [--user-quota-warn MB] [--user-quota-soft MB] [--user-quota-hard MB] [--home-node NODE]",
		help: "set the tenant's warning level and its default user quota levels (0: off / global default), and the home node\n" +
			"        (sharded mode) of its users that have none of their own (--home-node \"\": none)",
		flags: []flagDef{fString("quota-warn"), fString("user-quota-warn"), fString("user-quota-soft"), fString("user-quota-hard"), fString("home-node")},
		run:   tenantUpdate},
	{object: "tenant", verb: "view add", args: []string{"VIEWER", "NAME"}, syntax: "tenant view add VIEWER NAME",
		help: "let the users of tenant VIEWER see the address book of tenant NAME", run: tenantViewer},
	{object: "tenant", verb: "view remove", args: []string{"VIEWER", "NAME"}, syntax: "tenant view remove VIEWER NAME",
		help: "undo tenant view add", run: tenantViewer},
	{object: "tenant", verb: "admin add", args: []string{"USER", "NAME"}, syntax: "tenant admin add USER NAME",
		help: "let USER (of any tenant, admin level 1 or 2) administer tenant NAME", run: tenantAdmin},
	{object: "tenant", verb: "admin remove", args: []string{"USER", "NAME"}, syntax: "tenant admin remove USER NAME",
		help: "undo tenant admin add", run: tenantAdmin},
	{object: "tenant", verb: "disclaimer", args: []string{"NAME"},
		syntax: "tenant disclaimer NAME [--text-file F|-] [--html-file F|-] [--off]",
		help: "show or set the disclaimer appended to mail the tenant's users send (text and HTML parts, at most 64 KiB each);\n" +
			"        --off removes both",
		flags: []flagDef{fString("text-file"), fString("html-file"), fBool("off")}, run: tenantDisclaimer},

	{object: "domain", verb: "add", args: []string{"DOMAIN"}, syntax: "domain add DOMAIN [--tenant T]",
		help: "add a mail domain to a tenant", flags: []flagDef{fString("tenant")}, run: domainAdd},
	{object: "domain", verb: "remove", args: []string{"DOMAIN"}, syntax: "domain remove DOMAIN [--tenant T]",
		help: "remove a mail domain no address uses any more", flags: []flagDef{fString("tenant")}, run: domainRemove},
	{object: "domain", verb: "list", syntax: "domain list", help: "list mail domains and their tenants", run: domainList},
	{object: "domain", verb: "dkim", args: []string{"DOMAIN"}, syntax: "domain dkim DOMAIN [--selector S] [--show]",
		help: "create a DKIM signing key for DOMAIN (replacing its current one) and print the DNS TXT record to publish;\n" +
			"        the selector defaults to roostYYYYMM; --show prints the current record without changing anything",
		flags: []flagDef{fString("selector"), fBool("show")}, run: domainDKIM},
	{object: "domain", verb: "dns", args: []string{"DOMAIN"}, syntax: "domain dns DOMAIN",
		help: "print the DNS records DOMAIN should publish (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, autoconfig, SRV) as zone-file lines",
		run:  domainDNS},
	{object: "domain", verb: "check", args: []string{"DOMAIN"}, syntax: "domain check DOMAIN [--resolver ADDR]",
		help: "look those records up (through the server's system resolver, or the DNS server ADDR[:PORT]) and report\n" +
			"        each as present, missing or wrong with the value found; exit status 1 unless all are present",
		flags: []flagDef{fString("resolver")}, run: domainCheck},
	{object: "domain", verb: "update", args: []string{"DOMAIN"}, syntax: "domain update DOMAIN [--public-hostname H] [--mta-sts-mode testing|enforce|none]",
		help:  "set the host name the domain's clients are told (instead of public_hostname; '' resets) and its MTA-STS mode",
		flags: []flagDef{fString("public-hostname"), fString("mta-sts-mode")}, run: domainUpdate},

	{object: "user", verb: "create", args: []string{"LOGIN"},
		syntax: `user create LOGIN --email ADDR --name "Full Name" [--password-stdin] [--admin 0|1|2] [--inactive] [--tenant T]`,
		help:   "create a user and its store; --inactive for shared mailboxes, rooms and equipment",
		flags: []flagDef{fString("email"), fString("name"), fBool("password-stdin"), fString("admin"), fBool("inactive"),
			fString("tenant")},
		run: userCreate},
	{object: "user", verb: "update", args: []string{"LOGIN"},
		syntax: "user update LOGIN [--rename NEW] [--email ADDR] [--name N] [--password-stdin] [--admin L] [--active|--inactive]\n" +
			"        [--alias-add A] [--alias-remove A] [--quota-override yes|no] [--quota-warn MB] [--quota-soft MB] [--quota-hard MB]\n" +
			"        [--enable-feature F] [--disable-feature F] [--add-sendas USER] [--remove-sendas USER]\n" +
			"        [--mr-accept yes|no] [--mr-decline-conflict yes|no] [--mr-decline-recurring yes|no] [--capacity N]",
		help: "change a user; list flags may be repeated; quota levels apply with --quota-override yes",
		flags: []flagDef{fString("rename"), fString("email"), fString("name"), fBool("password-stdin"), fString("admin"),
			fBool("active"), fBool("inactive"), fList("alias-add"), fList("alias-remove"), fString("quota-override"),
			fString("quota-warn"), fString("quota-soft"), fString("quota-hard"), fList("enable-feature"),
			fList("disable-feature"), fList("add-sendas"), fList("remove-sendas"), fString("mr-accept"),
			fString("mr-decline-conflict"), fString("mr-decline-recurring"), fString("capacity")},
		run: userUpdate},
	{object: "user", verb: "delete", args: []string{"LOGIN"}, syntax: "user delete LOGIN",
		help: "delete a user; its store is kept as an orphan", run: userDelete},
	{object: "user", verb: "show", args: []string{"LOGIN"}, syntax: "user show LOGIN",
		help: "show a user's details (kopano-admin --details)", run: userShow},
	{object: "user", verb: "list", syntax: "user list [--tenant T]", help: "list users",
		flags: []flagDef{fString("tenant")}, run: userList},
	{object: "user", verb: "oof", args: []string{"LOGIN"},
		syntax: "user oof LOGIN [--on|--off] [--subject S] [--message-file F|-] [--from DATE] [--until DATE]",
		help:   "show or set a user's out-of-office reply (kopano-set-oof); DATE is YYYY-MM-DD[THH:MM] or RFC 3339, '' clears it",
		flags:  []flagDef{fBool("on"), fBool("off"), fString("subject"), fString("message-file"), fString("from"), fString("until")},
		run:    userOOF},
	{object: "user", verb: "profile", args: []string{"LOGIN"}, syntax: "user profile LOGIN > FILE.mobileconfig",
		help: "write the user's signed Apple configuration profile (IMAP, SMTP, CalDAV, CardDAV; DER) to standard output",
		run:  userProfile},
	{object: "user", verb: "app-password add", args: []string{"LOGIN"},
		syntax: "user app-password add LOGIN --name N [--protocols LIST]",
		help: "make an app password for one client and print it (shown this once); LIST is a comma-separated subset of\n" +
			"        imap,pop3,smtp,sieve,dav,jmap,eas (default: all); it works instead of the account password on those protocols only",
		flags: []flagDef{fString("name"), fList("protocols")}, run: appPasswordAdd},
	{object: "user", verb: "app-password list", args: []string{"LOGIN"}, syntax: "user app-password list LOGIN",
		help: "list a user's app passwords with their protocols and last use", run: appPasswordList},
	{object: "user", verb: "app-password revoke", args: []string{"LOGIN", "NAME"}, syntax: "user app-password revoke LOGIN NAME",
		help: "revoke an app password: refused from the next login on", run: appPasswordRevoke},
	{object: "user", verb: "logout", args: []string{"LOGIN"}, syntax: "user logout LOGIN",
		help: "end all of the user's web client sessions (sign out everywhere)", run: userLogout},
	{object: "user", verb: "totp enable", args: []string{"LOGIN"}, syntax: "user totp enable LOGIN",
		help: "give the user a new TOTP key (RFC 6238) and print it with its otpauth:// URI for an authenticator app;\n" +
			"        from then on the web client's sign-in needs a code (mail clients use app passwords)", run: userTOTPEnable},
	{object: "user", verb: "totp disable", args: []string{"LOGIN"}, syntax: "user totp disable LOGIN",
		help: "remove the user's TOTP key: the web client's sign-in needs the password only", run: userTOTPDisable},

	{object: "oidc", verb: "client add", args: []string{"NAME"}, syntax: "oidc client add NAME --redirect-uri URI [--public]",
		help: "register a client of Roost's OpenID provider (its client id is NAME) and print its client id and secret (shown\n" +
			"        this once); --redirect-uri (repeatable) is matched exactly; --public for apps that cannot keep a secret (PKCE S256)",
		flags: []flagDef{fList("redirect-uri"), fBool("public")}, run: oidcClientAdd},
	{object: "oidc", verb: "client list", syntax: "oidc client list", help: "list the provider's clients", run: oidcClientList},
	{object: "oidc", verb: "client remove", args: []string{"NAME"}, syntax: "oidc client remove NAME",
		help: "remove a client: its codes and refresh tokens are refused from then on", run: oidcClientRemove},

	{object: "token", verb: "create", args: []string{"LOGIN"}, syntax: "token create LOGIN --name N [--expires D] [--scope LIST]",
		help: "make a bearer token for LOGIN and print it (shown this once); D is a lifetime (90d, 12h) or a date\n" +
			"        (YYYY-MM-DD[THH:MM], RFC 3339), default never; LIST is a comma-separated subset of jmap,dav,eas,imap,pop3,smtp,sieve\n" +
			"        (default: all): JMAP, DAV and ActiveSync take it as 'Authorization: Bearer', the mail protocols as SASL OAUTHBEARER/XOAUTH2",
		flags: []flagDef{fString("name"), fString("expires"), fList("scope")}, run: tokenCreate},
	{object: "token", verb: "list", args: []string{"LOGIN"}, syntax: "token list LOGIN",
		help: "list a user's tokens with their scope, expiry and last use", run: tokenList},
	{object: "token", verb: "revoke", args: []string{"LOGIN", "NAME"}, syntax: "token revoke LOGIN NAME",
		help: "revoke a token: refused from the next request on", run: tokenRevoke},

	{object: "group", verb: "create", args: []string{"NAME"}, syntax: "group create NAME [--tenant T]",
		help: "create a group", flags: []flagDef{fString("tenant")}, run: groupCreate},
	{object: "group", verb: "delete", args: []string{"NAME"}, syntax: "group delete NAME [--tenant T]",
		help: "delete a group", flags: []flagDef{fString("tenant")}, run: groupDelete},
	{object: "group", verb: "show", args: []string{"NAME"}, syntax: "group show NAME [--tenant T]",
		help: "show a group and its members", flags: []flagDef{fString("tenant")}, run: groupShow},
	{object: "group", verb: "list", syntax: "group list [--tenant T]", help: "list groups",
		flags: []flagDef{fString("tenant")}, run: groupList},
	{object: "group", verb: "add-member", args: []string{"GROUP", "USER"}, syntax: "group add-member GROUP USER [--tenant T]",
		help: "add a user to a group", flags: []flagDef{fString("tenant")}, run: groupMember},
	{object: "group", verb: "remove-member", args: []string{"GROUP", "USER"}, syntax: "group remove-member GROUP USER [--tenant T]",
		help: "remove a user from a group", flags: []flagDef{fString("tenant")}, run: groupMember},
	{object: "group", verb: "add-contact", args: []string{"GROUP", "EMAIL"}, syntax: "group add-contact GROUP EMAIL [--tenant T]",
		help: "make one of the tenant's contacts a member of a group: mail to the group goes out to it too",
		flags: []flagDef{fString("tenant")}, run: groupContact},
	{object: "group", verb: "remove-contact", args: []string{"GROUP", "EMAIL"}, syntax: "group remove-contact GROUP EMAIL [--tenant T]",
		help: "remove a contact from a group", flags: []flagDef{fString("tenant")}, run: groupContact},

	{object: "directory", verb: "sync", syntax: "directory sync",
		help: "read the whole LDAP directory now: create and update users and groups, follow renames (by the unique\n" +
			"        attribute), and delete the users who left (their stores become orphans); a progress bar on a terminal,\n" +
			"        then a summary (created, updated, renamed, orphaned, time)", run: directorySync},

	{object: "store", verb: "list-orphans", syntax: "store list-orphans",
		help: "list stores whose user was deleted", run: storeOrphans},
	{object: "store", verb: "hook", args: []string{"STORE-ID"}, syntax: "store hook STORE-ID [--user LOGIN]",
		help:  "attach an orphaned store to a user (its current store becomes an orphan), or without --user make it the tenant's public store",
		flags: []flagDef{fString("user")}, run: storeHook},
	{object: "store", verb: "remove", args: []string{"STORE-ID"}, syntax: "store remove STORE-ID",
		help: "delete an orphaned store (purged after softdelete_lifetime)", run: storeRemove},
	{object: "store", verb: "create-public", syntax: "store create-public [--tenant T]",
		help: "create the public store of a tenant", flags: []flagDef{fString("tenant")}, run: storeCreatePublic},
	{object: "store", verb: "public-folder", args: []string{"PATH"}, syntax: "store public-folder PATH [--type mail|calendar|contacts|tasks] [--acl SUBJECT=RIGHTS]... [--tenant T]",
		help: "create a folder of a tenant's public store (PATH \"/\"-separated; missing parents as mail folders): public calendars,\n" +
			"        address books and task lists are made this way; --acl sets entries as IMAP SETACL does (anyone=lr: every user\n" +
			"        of the tenant reads it; user:LOGIN=lrswipkxte, group:NAME=…)",
		flags: []flagDef{fString("type"), fList("acl"), fString("tenant")}, run: storePublicFolder},
	{object: "store", verb: "move", args: []string{"LOGIN"}, syntax: "store move LOGIN --to NODE",
		help: "make NODE (a live backend, not draining) the user's home node in the sharded mode: nothing is copied (every\n" +
			"        node shares the database and bucket); the user's sessions on the old node end and reconnect to NODE (docs/cluster.md)",
		flags: []flagDef{fString("to")}, run: storeMove},

	{object: "import", verb: "mbox", args: []string{"LOGIN", "FILE"}, syntax: "import mbox LOGIN FILE [--folder F]",
		help: "import an mbox file on the server's host into a user's folder F (default the Inbox; created if missing);\n" +
			"        flags from Status/X-Status; what cannot be imported is listed; messages already there are skipped",
		flags: []flagDef{fString("folder")}, run: importMbox},
	{object: "import", verb: "maildir", args: []string{"LOGIN", "DIR"}, syntax: "import maildir LOGIN DIR [--folder F]",
		help: "import a Maildir++ tree on the server's host (DIR is the Inbox, .Sub.Folder its folders; with --folder all go under F);\n" +
			"        flags from the file names' :2, info and dovecot-keywords, dates from the files' times",
		flags: []flagDef{fString("folder")}, run: importMaildir},

	{object: "import", verb: "imap", args: []string{"[LOGIN]"},
		syntax: "import imap LOGIN|--csv FILE --host H [--port P] [--tls|--starttls] [--insecure] --user U --password-stdin|--password-file F [--folders LIST]",
		help: "import a user's mail from another IMAP server: every folder (or those of --folders, comma-separated), flags and\n" +
			"        keywords, internal dates; run it again to resume or to fetch what arrived since (nothing is imported twice);\n" +
			"        --csv FILE imports many users, one 'LOGIN,USER,PASSWORD' line each (# comments), from the same server",
		flags: []flagDef{fString("host"), fString("port"), fBool("tls"), fBool("starttls"), fBool("insecure"), fString("user"),
			fBool("password-stdin"), fString("password-file"), fList("folders"), fString("csv")}, run: importIMAP},

	{object: "export", args: []string{"LOGIN"}, syntax: "export LOGIN --to DIR [--format mbox|maildir]",
		help: "write a user's whole store under DIR on the server's host: mail as mbox files (mail/PATH.mbox, default) or one\n" +
			"        Maildir++ tree (Maildir/), calendars and task lists as calendars/PATH.ics, address books as contacts/PATH.vcf",
		flags: []flagDef{fString("to"), fString("format")}, run: exportStore},

	{object: "calendar", verb: "import", args: []string{"LOGIN", "FOLDER", "FILE"}, syntax: "calendar import LOGIN FOLDER FILE.ics|-",
		help: "import the events, tasks and journal entries of an iCalendar file into a user's folder (created if missing);\n" +
			"        FOLDER is a folder path (\"Projects/Deadlines\") or calendar or tasks for the user's default one;\n" +
			"        an object whose UID is already in the folder is replaced", run: calendarImport},
	{object: "calendar", verb: "export", args: []string{"LOGIN", "FOLDER", "FILE"}, syntax: "calendar export LOGIN FOLDER FILE.ics|-",
		help: "write a user's calendar or task folder as one iCalendar file (- for standard output)", run: calendarExport},
	{object: "contacts", verb: "import", args: []string{"LOGIN", "FOLDER", "FILE"}, syntax: "contacts import LOGIN FOLDER FILE.vcf|-",
		help: "import the vCards of a file into a user's address book (created if missing); FOLDER is a folder path or contacts;\n" +
			"        a card whose UID is already there is replaced", run: contactsImport},
	{object: "contacts", verb: "export", args: []string{"LOGIN", "FOLDER", "FILE"}, syntax: "contacts export LOGIN FOLDER FILE.vcf|-",
		help: "write a user's address book as one vCard file (- for standard output)", run: contactsExport},

	{object: "softdelete", verb: "purge", syntax: "softdelete purge --days N",
		help: "remove for good what was deleted more than N days ago", flags: []flagDef{fString("days")}, run: softdeletePurge},

	{object: "deliver", args: []string{"ADDR"}, syntax: "deliver ADDR [--from SENDER] < message",
		help: "deliver an RFC 5322 message from standard input to the user owning ADDR, through spam checks, Sieve and out-of-office;\n" +
			"        --from gives the envelope sender (else the Return-Path field is used; --from '' is the null sender)",
		flags: []flagDef{fString("from")}, run: adminDeliver},
	{object: "node", verb: "list", syntax: "node list",
		help: "list the cluster's nodes: address, roles, version, last heartbeat, draining, leases held, public and proxy URL", run: nodeList},
	{object: "node", verb: "drain", args: []string{"NAME"}, syntax: "node drain NAME",
		help: "stop a node taking new sessions; its open sessions end after drain_grace", run: nodeDrain},
	{object: "node", verb: "undrain", args: []string{"NAME"}, syntax: "node undrain NAME",
		help: "let a drained node take sessions again", run: nodeUndrain},
	{object: "device", verb: "list", optional: []string{"LOGIN"}, syntax: "device list [LOGIN] [--tenant T]",
		help: "list mobile (ActiveSync) devices: of one user, or of every user", flags: []flagDef{fString("tenant")}, run: deviceList},
	{object: "device", verb: "wipe", args: []string{"LOGIN", "DEVICE"}, syntax: "device wipe LOGIN DEVICE [--account-only]",
		help:  "wipe a lost device at its next contact (remote wipe through Provision; --account-only: only the account's data, on 16.1 devices)",
		flags: []flagDef{fBool("account-only")}, run: deviceWipe},
	{object: "device", verb: "remove", args: []string{"LOGIN", "DEVICE"}, syntax: "device remove LOGIN DEVICE",
		help: "forget a device (and a pending wipe); it must provision again", run: deviceRemove},

	{object: "archive", verb: "attach", args: []string{"LOGIN"}, syntax: "archive attach LOGIN [--node N]",
		help:  "give a user an archive store (read-only to the user; only the archiver writes it), on node N in sharded mode",
		flags: []flagDef{fString("node")}, run: archiveAttach},
	{object: "archive", verb: "detach", args: []string{"LOGIN"}, syntax: "archive detach LOGIN",
		help: "detach a user's archive store; it is kept as an orphan (store orphans, store remove)", run: archiveDetach},
	{object: "archive", verb: "list", syntax: "archive list [--tenant T]",
		help: "list the attached archive stores", flags: []flagDef{fString("tenant")}, run: archiveList},
	{object: "archive", verb: "run", optional: []string{"LOGIN"}, syntax: "archive run LOGIN|--all",
		help: "archive now by the archive_* rules, with a progress bar: one user, or every user with an archive store;\n" +
			"        running twice archives nothing twice, and an interrupted run is resumed by the next one",
		flags: []flagDef{fBool("all")}, run: archiveRun},

	{object: "search", verb: "status", optional: []string{"LOGIN"}, syntax: "search status [LOGIN]",
		help: "show how far the full-text index of a user's store, or of every store, is behind its changes, and its size", run: searchStatus},
	{object: "search", verb: "reindex", optional: []string{"LOGIN"}, syntax: "search reindex LOGIN|--all [--no-wait]",
		help:  "rebuild the full-text index of a user's store or of all stores, showing progress until it is current (it goes on in the server if interrupted)",
		flags: []flagDef{fBool("all"), fBool("no-wait")}, run: searchReindex},
	{object: "queue", verb: "list", syntax: "queue list", help: "list the messages waiting in the outbound queue", run: queueList},
	{object: "queue", verb: "show", args: []string{"ID"}, syntax: "queue show ID",
		help: "show a queued message: envelope, attempts and each recipient's state", run: queueShow},
	{object: "queue", verb: "retry", args: []string{"ID"}, syntax: "queue retry ID",
		help: "try to deliver a queued message now", run: queueRetry},
	{object: "queue", verb: "delete", args: []string{"ID"}, syntax: "queue delete ID",
		help: "remove a message from the queue without a bounce", run: queueDelete},
	{object: "status", syntax: "status", help: "show the server's version and uptime", run: adminStatus},
}

const adminGlobalHelp = `Global flags (before or after the command):
  --data DIR      the server's data directory (default ./roost-data); the socket is DIR/admin.sock
  --config FILE   the server's configuration file: its data_dir and admin_socket
  --json          print JSON (lists, details, and the object a create or update made)
  --url URL       use the TLS admin API at URL (https://host:port, the server's admin_listen)
                  instead of the local socket, with:
  --login LOGIN   an administrator's login; the password is read from $ROOST_ADMIN_PASSWORD.
                  A tenant administrator (level 1) acts within its tenants only.
  --ca FILE       trust the server certificate(s) in FILE (e.g. DATA/tls/cert.pem)
  --cert FILE --key FILE  a client certificate signed by the server's ssl_ca_file: the system identity
`

// adminUsage is the usage of every command, or of one object's.
func adminUsage(object string) string {
	var b strings.Builder
	b.WriteString("Usage: roost admin [--data DIR | --config FILE] [--json] OBJECT VERB [ARGUMENTS] [FLAGS]\n\n")
	b.WriteString("Administers the Roost server running on this host through its admin socket.\n")
	b.WriteString("Sizes and quotas are in MB (2^20 bytes); 0 switches a level off.\n")
	for _, o := range adminObjects {
		if object != "" && o.name != object {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", o.title)
		for _, c := range adminCmds {
			if c.object == o.name {
				fmt.Fprintf(&b, "  roost admin %s\n      %s\n", c.syntax, c.help)
			}
		}
	}
	b.WriteString("\n" + adminGlobalHelp)
	return b.String()
}

func cmdUsage(c *adminCmd) string {
	return fmt.Sprintf("Usage: roost admin %s\n\n%s.\n\n%s", c.syntax, upperFirst(c.help), adminGlobalHelp)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func isHelp(s string) bool { return s == "help" || s == "-h" || s == "--help" || s == "-help" }

func knownObject(s string) bool {
	return slices.ContainsFunc(adminObjects, func(o struct{ name, title string }) bool { return o.name == s })
}

// verbsOf lists the verbs of an object, for error messages.
func verbsOf(object string) string {
	var vs []string
	for _, c := range adminCmds {
		if c.object == object {
			v, _, _ := strings.Cut(c.verb, " ")
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
	}
	return strings.Join(vs, ", ")
}

// findCmd finds the command for object and the words after it, and how
// many words its verb took.
func findCmd(object string, words []string) (*adminCmd, int, error) {
	for _, c := range adminCmds {
		if c.object == object && c.verb == "" {
			return c, 0, nil
		}
	}
	if len(words) == 0 {
		return nil, 0, usagef("%s: missing subcommand: one of %s (see roost admin %s --help)", object, verbsOf(object), object)
	}
	if len(words) > 1 {
		for _, c := range adminCmds {
			if c.object == object && c.verb == words[0]+" "+words[1] {
				return c, 2, nil
			}
		}
	}
	var sub []string
	for _, c := range adminCmds {
		if c.object != object {
			continue
		}
		if c.verb == words[0] {
			return c, 1, nil
		}
		if first, second, ok := strings.Cut(c.verb, " "); ok && first == words[0] {
			sub = append(sub, second)
		}
	}
	if len(sub) > 0 {
		if len(words) == 1 {
			return nil, 0, usagef("%s %s: missing subcommand: one of %s", object, words[0], strings.Join(sub, ", "))
		}
		return nil, 0, usagef("%s %s: unknown subcommand %q: one of %s", object, words[0], words[1], strings.Join(sub, ", "))
	}
	return nil, 0, usagef("%s: unknown subcommand %q: one of %s (see roost admin %s --help)", object, words[0], verbsOf(object), object)
}

// adminGlobals are the flags that may appear anywhere on the line.
type adminGlobals struct {
	data, config string
	json         bool
	// Remote administration over the TLS admin API (admin_listen).
	url, user, ca, cert, key string
}

// parseGlobals takes --data, --config and --json out of args, wherever
// they are (up to a "--").
func parseGlobals(args []string) (adminGlobals, []string, error) {
	var g adminGlobals
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			continue
		}
		switch name {
		case "json":
			g.json = true
			if hasVal {
				return g, nil, usagef("--json takes no value")
			}
		case "data", "config", "url", "login", "ca", "cert", "key":
			if !hasVal {
				if i+1 >= len(args) {
					return g, nil, usagef("flag --%s needs a value", name)
				}
				i++
				val = args[i]
			}
			if val == "" {
				return g, nil, usagef("flag --%s needs a value", name)
			}
			switch name {
			case "data":
				g.data = val
			case "config":
				g.config = val
			case "url":
				g.url = val
			case "login":
				g.user = val
			case "ca":
				g.ca = val
			case "cert":
				g.cert = val
			case "key":
				g.key = val
			}
		default:
			rest = append(rest, a)
		}
	}
	return g, rest, nil
}

// connect finds the admin socket from --data and --config.
func (g adminGlobals) connect() (*adminClient, error) {
	if g.url != "" {
		if !strings.HasPrefix(g.url, "https://") {
			return nil, usagef("--url must be an https:// address (the admin_listen of the server)")
		}
		pass := os.Getenv("ROOST_ADMIN_PASSWORD")
		if g.user != "" && pass == "" {
			return nil, fmt.Errorf("--login %s: set the password in $ROOST_ADMIN_PASSWORD", g.user)
		}
		return newRemoteClient(g.url, g.user, pass, g.ca, g.cert, g.key)
	}
	if g.user != "" || g.ca != "" || g.cert != "" || g.key != "" {
		return nil, usagef("--login, --ca, --cert and --key go with --url")
	}
	cfg := config.Default()
	if g.config != "" {
		var err error
		if cfg, err = config.Load(g.config); err != nil {
			return nil, err
		}
	}
	if g.data != "" {
		cfg.DataDir = g.data
	}
	hint := "roost serve --data " + cfg.DataDir
	if g.config != "" {
		hint = "roost serve --config " + g.config
		if g.data != "" {
			hint += " --data " + g.data
		}
	}
	return newAdminClient(cfg.AdminSocket(), hint), nil
}

// runAdmin runs `roost admin ARGS` (args are the words after "admin").
// Exit status: 0 done, 1 the server refused or could not be reached, 2 a
// mistake on the command line. Errors are one line on stderr.
func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code, err := adminMain(ctx, args, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "roost admin: %s\n", oneLine(err.Error()))
		var de deliverError
		if errors.As(err, &de) {
			return de.exitCode()
		}
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	if code == 2 {
		fmt.Fprint(stderr, adminUsage(""))
	}
	return code
}

func adminMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	g, rest, err := parseGlobals(args)
	if err != nil {
		return 0, err
	}
	if len(rest) == 0 {
		return 2, nil
	}
	object := rest[0]
	if isHelp(object) {
		topic := ""
		if len(rest) > 1 {
			topic = rest[1]
			if !knownObject(topic) {
				return 0, usagef("help: unknown command %q: one of %s", topic, objectNames())
			}
		}
		fmt.Fprint(stdout, adminUsage(topic))
		return 0, nil
	}
	if !knownObject(object) {
		return 0, usagef("unknown command %q: one of %s (see roost admin help)", object, objectNames())
	}
	if len(rest) > 1 && isHelp(rest[1]) {
		fmt.Fprint(stdout, adminUsage(object))
		return 0, nil
	}
	cmd, n, err := findCmd(object, rest[1:])
	if err != nil {
		return 0, err
	}
	in, err := parseArgs(cmd, rest[1+n:])
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, cmdUsage(cmd))
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	c, err := g.connect()
	if err != nil {
		return 0, err
	}
	a := &admin{ctx: ctx, c: c, json: g.json, stdin: stdin, stdout: stdout, stderr: stderr}
	return 0, cmd.run(a, cmd, in)
}

func objectNames() string {
	names := make([]string, len(adminObjects))
	for i, o := range adminObjects {
		names[i] = o.name
	}
	return strings.Join(names, ", ")
}
