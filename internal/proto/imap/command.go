package imap

// Command is a parsed client command (RFC 9051 §6).
//
// Args holds the arguments as a typed value, by Name:
//
//	CAPABILITY NOOP LOGOUT STARTTLS CHECK CLOSE UNSELECT NAMESPACE IDLE  nil
//	EXPUNGE                                  nil; *ExpungeCmd with UID
//	LOGIN                                    *LoginCmd
//	AUTHENTICATE                             *AuthenticateCmd
//	ENABLE                                   *EnableCmd
//	ID                                       *IDCmd
//	COMPRESS                                 *CompressCmd
//	SELECT EXAMINE                           *SelectCmd
//	CREATE                                   *CreateCmd
//	DELETE SUBSCRIBE UNSUBSCRIBE             *MailboxCmd
//	GETQUOTAROOT GETACL MYRIGHTS             *MailboxCmd
//	RENAME                                   *RenameCmd
//	LIST LSUB                                *ListCmd
//	STATUS                                   *StatusCmd
//	APPEND                                   *AppendCmd
//	REPLACE                                  *ReplaceCmd
//	COPY MOVE                                *CopyCmd
//	FETCH                                    *FetchCmd
//	STORE                                    *StoreCmd
//	SEARCH                                   *SearchCmd
//	SORT                                     *SortCmd
//	THREAD                                   *ThreadCmd
//	GETQUOTA                                 *GetQuotaCmd
//	SETQUOTA                                 *SetQuotaCmd
//	SETACL DELETEACL LISTRIGHTS              *ACLCmd
//	GETMETADATA                              *GetMetadataCmd
//	SETMETADATA                              *SetMetadataCmd
//
// The parser checks syntax only: which commands are allowed in which
// session state (RFC 9051 §3) is the server's business.
type Command struct {
	Tag  string
	Name string // upper case, without the "UID" prefix
	// UID is set for UID COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT
	// and THREAD (RFC 9051 §6.4.9): sequence sets hold UIDs.
	UID  bool
	Args Args
}

// Args is implemented by the argument types of Command.
type Args interface {
	// appendArgs appends the wire form of the arguments, including the
	// space that separates them from the command name.
	appendArgs(b []byte) []byte
}

// String returns the command in wire form without the final CRLF, with
// mailbox names in modified UTF-7 and literals inline ("{n}\r\n..."). For
// commands the Reader produced, parsing String's output gives the same
// command back. It includes credentials: use Redacted for logs. APPEND
// shows the first message's flags, date and literal size, not its data,
// which is streamed and not kept.
func (c *Command) String() string {
	b := append([]byte(c.Tag), ' ')
	if c.UID {
		b = append(b, "UID "...)
	}
	b = append(b, c.Name...)
	if c.Args != nil {
		b = c.Args.appendArgs(b)
	}
	return string(b)
}

// Redacted is String with passwords and SASL data replaced by "***" and
// literals longer than 100 bytes elided, for protocol traces.
func (c *Command) Redacted() string {
	switch a := c.Args.(type) {
	case *LoginCmd:
		cp := *c
		cp.Args = &LoginCmd{User: a.User, Password: "***"}
		return cp.String()
	case *AuthenticateCmd:
		if a.HasInitialResponse {
			return c.Tag + " AUTHENTICATE " + a.Mechanism + " ***"
		}
	}
	s := c.String()
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}

// parser parses the arguments of one command, after its name.
type parser func(r *Reader, c *Command) Args

var commands map[string]parser

// uidCommands may follow "UID" (RFC 9051 §6.4.9, RFC 4315, RFC 6851,
// RFC 5256).
var uidCommands = map[string]bool{
	"COPY": true, "MOVE": true, "FETCH": true, "SEARCH": true, "STORE": true,
	"EXPUNGE": true, "SORT": true, "THREAD": true, "REPLACE": true,
}

func init() {
	noArgs := func(*Reader, *Command) Args { return nil }
	commands = map[string]parser{
		// Any state, RFC 9051 §6.1.
		"CAPABILITY": noArgs,
		"NOOP":       noArgs,
		"LOGOUT":     noArgs,
		"ID":         parseID,     // RFC 2971
		"ENABLE":     parseEnable, // RFC 5161
		// Not authenticated, RFC 9051 §6.2.
		"STARTTLS":     noArgs,
		"AUTHENTICATE": parseAuthenticate,
		"LOGIN":        parseLogin,
		"COMPRESS":     parseCompress, // RFC 4978
		// Authenticated, RFC 9051 §6.3.
		"SELECT":      parseSelect,
		"EXAMINE":     parseSelect,
		"CREATE":      parseCreate,
		"DELETE":      parseMailboxOnly,
		"RENAME":      parseRename,
		"SUBSCRIBE":   parseMailboxOnly,
		"UNSUBSCRIBE": parseMailboxOnly,
		"LIST":        parseList,
		"LSUB":        parseList, // RFC 3501 §6.3.9
		"NAMESPACE":   noArgs,    // RFC 2342
		"STATUS":      parseStatus,
		"APPEND":      parseAppend,
		"IDLE":        noArgs, // RFC 2177
		// Quota, RFC 9208; ACL, RFC 4314; METADATA, RFC 5464.
		"GETQUOTA":     parseGetQuota,
		"GETQUOTAROOT": parseMailboxOnly,
		"SETQUOTA":     parseSetQuota,
		"GETACL":       parseMailboxOnly,
		"SETACL":       parseSetACL,
		"DELETEACL":    parseIdentifierACL,
		"LISTRIGHTS":   parseIdentifierACL,
		"MYRIGHTS":     parseMailboxOnly,
		"GETMETADATA":  parseGetMetadata,
		"SETMETADATA":  parseSetMetadata,
		// Selected, RFC 9051 §6.4.
		"CHECK":    noArgs, // RFC 3501 §6.4.1
		"CLOSE":    noArgs,
		"UNSELECT": noArgs, // RFC 3691
		"EXPUNGE":  parseExpunge,
		"SEARCH":   parseSearch,
		"FETCH":    parseFetch,
		"STORE":    parseStore,
		"COPY":     parseCopy,
		"MOVE":     parseCopy, // RFC 6851
		"SORT":     parseSort, // RFC 5256
		"THREAD":   parseThread,
		"REPLACE":  parseReplace, // RFC 8508
		// CONTEXT=SEARCH, RFC 5267 §4.3.1.
		"CANCELUPDATE": parseCancelUpdate,
		"NOTIFY":       parseNotify, // RFC 5465
		// URLAUTH, RFC 4467.
		"GENURLAUTH": parseGenURLAuth,
		"RESETKEY":   parseResetKey,
		"URLFETCH":   parseURLFetch,
	}
}

// parseCommand parses tag, name and arguments from the first line.
func (r *Reader) parseCommand() *Command {
	if len(r.line) == 0 {
		r.fail("empty command line")
		return nil
	}
	tag := r.takeWhile(isTagChar)
	if len(tag) == 0 || r.peek() != ' ' {
		if len(tag) > 0 && r.atEOL() {
			r.tag = string(tag)
			r.fail("missing command name")
		} else {
			r.fail("invalid tag")
		}
		return nil
	}
	r.tag = string(tag)
	r.sp()
	c := &Command{Tag: r.tag}
	name := r.keyword()
	if name == "UID" {
		r.sp()
		name = r.keyword()
		if r.ok() && !uidCommands[name] {
			r.fail("UID %s is not a command", name)
			return nil
		}
		c.UID = true
	}
	if !r.ok() {
		return nil
	}
	c.Name = name
	r.cmd = name
	p := commands[name]
	if p == nil {
		r.fail("unknown command %s", name)
		return nil
	}
	c.Args = p(r, c)
	r.eol()
	if !r.ok() {
		return nil
	}
	return c
}

// Simple commands.

// LoginCmd is LOGIN userid password (RFC 9051 §6.2.3).
type LoginCmd struct {
	User, Password string
}

func parseLogin(r *Reader, _ *Command) Args {
	r.sp()
	a := &LoginCmd{User: r.astring()}
	r.sp()
	a.Password = r.astring()
	return a
}

func (a *LoginCmd) appendArgs(b []byte) []byte {
	b = append(b, ' ')
	b = AppendAString(b, a.User, false)
	b = append(b, ' ')
	return AppendAString(b, a.Password, false)
}

// AuthenticateCmd is AUTHENTICATE mechanism [initial-response] (RFC 9051
// §6.2.2, SASL-IR RFC 4959). Further client responses come from
// Reader.ReadAuthResponse.
type AuthenticateCmd struct {
	Mechanism string // upper case, e.g. "PLAIN"
	// HasInitialResponse is set when the client sent an initial response;
	// "=" is an empty one.
	HasInitialResponse bool
	InitialResponse    []byte // decoded
}

func parseAuthenticate(r *Reader, _ *Command) Args {
	r.sp()
	a := &AuthenticateCmd{Mechanism: r.keyword()}
	if r.maybe(' ') {
		a.HasInitialResponse = true
		if r.maybe('=') {
			a.InitialResponse = []byte{}
		} else {
			b := r.takeWhile(func(c byte) bool {
				return c == '+' || c == '/' || c == '=' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
			})
			resp, err := decodeBase64(b)
			if len(b) == 0 || err != nil {
				r.fail("invalid base64 initial response")
				return nil
			}
			a.InitialResponse = resp
		}
	}
	return a
}

func (a *AuthenticateCmd) appendArgs(b []byte) []byte {
	b = append(b, ' ')
	b = append(b, a.Mechanism...)
	if a.HasInitialResponse {
		b = append(b, ' ')
		if len(a.InitialResponse) == 0 {
			b = append(b, '=')
		} else {
			b = appendBase64(b, a.InitialResponse)
		}
	}
	return b
}

// EnableCmd is ENABLE capability... (RFC 5161 §3.1).
type EnableCmd struct {
	Caps []string // upper case
}

func parseEnable(r *Reader, _ *Command) Args {
	a := &EnableCmd{}
	for r.ok() {
		r.sp()
		a.Caps = append(a.Caps, r.keyword())
		if r.atEOL() {
			break
		}
	}
	return a
}

func (a *EnableCmd) appendArgs(b []byte) []byte {
	for _, c := range a.Caps {
		b = append(b, ' ')
		b = append(b, c...)
	}
	return b
}

// IDField is one field of an ID parameter list (RFC 2971 §3.3).
type IDField struct {
	Name  string
	Value string
	Nil   bool // value NIL
}

// IDCmd is ID (RFC 2971 §3.1). Fields is nil for "ID NIL".
type IDCmd struct {
	Fields []IDField
}

// maxIDFields bounds the ID parameter list (RFC 2971 §3.3 allows 30).
const maxIDFields = 30

func parseID(r *Reader, _ *Command) Args {
	r.sp()
	a := &IDCmd{}
	if r.maybeKeyword("NIL") {
		return a
	}
	a.Fields = []IDField{}
	r.list(true, func() {
		f := IDField{Name: r.str()}
		r.sp()
		v, ok := r.nstring()
		f.Value, f.Nil = v, !ok
		a.Fields = append(a.Fields, f)
		if len(a.Fields) > maxIDFields {
			r.failCode(CodeLimit, "too many ID fields")
		}
	})
	return a
}

func (a *IDCmd) appendArgs(b []byte) []byte {
	b = append(b, ' ')
	if a.Fields == nil {
		return append(b, "NIL"...)
	}
	return appendIDFields(b, a.Fields, false)
}

func appendIDFields(b []byte, fields []IDField, utf8 bool) []byte {
	return appendList(b, fields, func(b []byte, f IDField) []byte {
		b = AppendString(b, f.Name, utf8)
		b = append(b, ' ')
		return AppendNString(b, f.Value, f.Nil, utf8)
	})
}

// CompressCmd is COMPRESS algorithm (RFC 4978 §3).
type CompressCmd struct {
	Algorithm string // upper case, e.g. "DEFLATE"
}

func parseCompress(r *Reader, _ *Command) Args {
	r.sp()
	return &CompressCmd{Algorithm: r.keyword()}
}

func (a *CompressCmd) appendArgs(b []byte) []byte {
	return append(append(b, ' '), a.Algorithm...)
}

// ExpungeCmd is the argument of UID EXPUNGE (RFC 4315 §2.1); plain
// EXPUNGE has none.
type ExpungeCmd struct {
	UIDs SeqSet
}

func parseExpunge(r *Reader, c *Command) Args {
	if !c.UID {
		return nil
	}
	r.sp()
	return &ExpungeCmd{UIDs: r.seqSet()}
}

func (a *ExpungeCmd) appendArgs(b []byte) []byte {
	return a.UIDs.appendTo(append(b, ' '))
}

// CopyCmd is COPY or MOVE sequence-set mailbox (RFC 9051 §6.4.7, RFC 6851).
type CopyCmd struct {
	Seq     SeqSet
	Mailbox string
}

func parseCopy(r *Reader, _ *Command) Args {
	r.sp()
	a := &CopyCmd{Seq: r.seqSet()}
	r.sp()
	a.Mailbox = r.mailbox()
	return a
}

func (a *CopyCmd) appendArgs(b []byte) []byte {
	b = a.Seq.appendTo(append(b, ' '))
	return AppendMailbox(append(b, ' '), a.Mailbox, false)
}
