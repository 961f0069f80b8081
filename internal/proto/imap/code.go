package imap

import (
	"strconv"
	"strings"
)

// Code is the text of a response code, without the brackets: "TRYCREATE",
// "UIDVALIDITY 3857529045" (RFC 9051 §7.1). The empty Code means none.
type Code string

// Response codes without arguments.
const (
	CodeAlert                Code = "ALERT"                // RFC 9051 §7.1
	CodeAlreadyExists        Code = "ALREADYEXISTS"        // RFC 9051 §7.1
	CodeAuthenticationFailed Code = "AUTHENTICATIONFAILED" // RFC 9051 §7.1
	CodeAuthorizationFailed  Code = "AUTHORIZATIONFAILED"  // RFC 9051 §7.1
	CodeCannot               Code = "CANNOT"               // RFC 9051 §7.1
	CodeClientBug            Code = "CLIENTBUG"            // RFC 9051 §7.1
	CodeClosed               Code = "CLOSED"               // RFC 9051 §7.1, RFC 7162 §3.2.11
	CodeContactAdmin         Code = "CONTACTADMIN"         // RFC 9051 §7.1
	CodeCorruption           Code = "CORRUPTION"           // RFC 9051 §7.1
	CodeExpired              Code = "EXPIRED"              // RFC 9051 §7.1
	CodeExpungeIssued        Code = "EXPUNGEISSUED"        // RFC 9051 §7.1
	CodeHasChildren          Code = "HASCHILDREN"          // RFC 9051 §7.1
	CodeInUse                Code = "INUSE"                // RFC 9051 §7.1
	CodeLimit                Code = "LIMIT"                // RFC 9051 §7.1
	CodeNonExistent          Code = "NONEXISTENT"          // RFC 9051 §7.1
	CodeNoPerm               Code = "NOPERM"               // RFC 9051 §7.1
	CodeOverQuota            Code = "OVERQUOTA"            // RFC 9051 §7.1
	CodeParse                Code = "PARSE"                // RFC 9051 §7.1
	CodePrivacyRequired      Code = "PRIVACYREQUIRED"      // RFC 9051 §7.1
	CodeReadOnly             Code = "READ-ONLY"            // RFC 9051 §7.1
	CodeReadWrite            Code = "READ-WRITE"           // RFC 9051 §7.1
	CodeServerBug            Code = "SERVERBUG"            // RFC 9051 §7.1
	CodeTryCreate            Code = "TRYCREATE"            // RFC 9051 §7.1
	CodeUIDNotSticky         Code = "UIDNOTSTICKY"         // RFC 9051 §7.1
	CodeUnavailable          Code = "UNAVAILABLE"          // RFC 9051 §7.1
	CodeUnknownCTE           Code = "UNKNOWN-CTE"          // RFC 9051 §7.1, RFC 3516
	CodeTooBig               Code = "TOOBIG"               // RFC 9051 §7.1, RFC 7889, RFC 4469
	CodeNoModSeq             Code = "NOMODSEQ"             // RFC 7162 §3.1.2
	CodeBadCharset           Code = "BADCHARSET"           // RFC 9051 §7.1 (see CodeBadCharsets)
	CodeCompressionActive    Code = "COMPRESSIONACTIVE"    // RFC 4978 §3
	CodeMetadataTooMany      Code = "METADATA TOOMANY"     // RFC 5464 §4.3
	CodeMetadataNoPrivate    Code = "METADATA NOPRIVATE"   // RFC 5464 §4.3
	CodeUseAttr              Code = "USEATTR"              // RFC 6154
)

func codeN[T uint32 | uint64](name string, n T) Code {
	return Code(strconv.AppendUint([]byte(name+" "), uint64(n), 10))
}

// CodeUIDValidity is [UIDVALIDITY n] (RFC 9051 §7.1).
func CodeUIDValidity(n uint32) Code { return codeN("UIDVALIDITY", n) }

// CodeUIDNext is [UIDNEXT n] (RFC 9051 §7.1).
func CodeUIDNext(n uint32) Code { return codeN("UIDNEXT", n) }

// CodeUnseen is [UNSEEN n], the first unseen message (RFC 3501 §7.1; not
// in IMAP4rev2).
func CodeUnseen(n uint32) Code { return codeN("UNSEEN", n) }

// CodeHighestModSeq is [HIGHESTMODSEQ n] (RFC 7162 §3.1.1).
func CodeHighestModSeq(n uint64) Code { return codeN("HIGHESTMODSEQ", n) }

// CodeAppendUID is [APPENDUID uidvalidity uid-set] (RFC 4315 §3; RFC 9051
// §7.1); uids has one element for a single APPEND, more for MULTIAPPEND.
func CodeAppendUID(uidValidity uint32, uids SeqSet) Code {
	return Code("APPENDUID " + strconv.FormatUint(uint64(uidValidity), 10) + " " + uids.String())
}

// CodeCopyUID is [COPYUID uidvalidity source-uids dest-uids] (RFC 4315 §3)
// for COPY and MOVE; the sets pair up in order.
func CodeCopyUID(uidValidity uint32, src, dst SeqSet) Code {
	return Code("COPYUID " + strconv.FormatUint(uint64(uidValidity), 10) + " " + src.String() + " " + dst.String())
}

// CodeModified is [MODIFIED set], the messages a conditional STORE did not
// change (RFC 7162 §3.1.3).
func CodeModified(set SeqSet) Code { return Code("MODIFIED " + set.String()) }

// CodeMailboxID is [MAILBOXID (id)] (RFC 8474 §4).
func CodeMailboxID(id string) Code { return Code("MAILBOXID (" + id + ")") }

// CodeInProgress is [INPROGRESS ("tag" done total)] (RFC 9585 §3); a
// total of 0 is sent as NIL (unknown).
func CodeInProgress(tag string, done, total uint32) Code {
	b := appendQuoted([]byte("INPROGRESS ("), tag)
	b = appendUint(append(b, ' '), done)
	if total == 0 {
		b = append(b, " NIL"...)
	} else {
		b = appendUint(append(b, ' '), total)
	}
	return Code(append(b, ')'))
}

// CodeNoUpdate is [NOUPDATE "tag"] (RFC 5267 §4.3.1).
func CodeNoUpdate(tag string) Code { return Code(appendQuoted([]byte("NOUPDATE "), tag)) }

// CodeBadURL is [BADURL url] (RFC 4469 §6): the URL is sent as text, so
// "]" and line breaks are left out.
func CodeBadURL(url string) Code {
	url = strings.Map(func(r rune) rune {
		if r == ']' || r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, url)
	return Code("BADURL " + url)
}

// CodeCapability is [CAPABILITY ...] (RFC 9051 §7.1).
func CodeCapability(caps ...string) Code { return Code("CAPABILITY " + strings.Join(caps, " ")) }

// CodePermanentFlags is [PERMANENTFLAGS (...)]; include `\*` if clients
// may create keywords (RFC 9051 §7.1).
func CodePermanentFlags(flags ...string) Code {
	return Code("PERMANENTFLAGS (" + strings.Join(flags, " ") + ")")
}

// CodeBadCharsets is [BADCHARSET (charsets)] listing supported charsets.
func CodeBadCharsets(charsets ...string) Code {
	b := []byte("BADCHARSET ")
	b = appendList(b, charsets, func(b []byte, s string) []byte { return AppendAString(b, s, false) })
	return Code(b)
}

// CodeMetadataLongEntries is [METADATA LONGENTRIES n] (RFC 5464 §4.2.1).
func CodeMetadataLongEntries(n uint32) Code { return codeN("METADATA LONGENTRIES", n) }

// CodeMetadataMaxSize is [METADATA MAXSIZE n] (RFC 5464 §4.3).
func CodeMetadataMaxSize(n uint32) Code { return codeN("METADATA MAXSIZE", n) }
