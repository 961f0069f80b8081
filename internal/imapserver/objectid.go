package imapserver

import "strconv"

// OBJECTID (RFC 8474). The ids are the store's own: a folder keeps its id
// through RENAME (RFC 8474 §4), and an item keeps its id when MOVE takes
// it to another folder (§5.1), which the store does by updating the item
// in place. Ids are never reused (schema.go), so an id names one object
// for good. The letter in front keeps ids of different kinds apart and
// makes them safe as file names (§7 objectid syntax).
//
// THREADID is NIL: threads are computed by THREAD on demand, not stored
// (RFC 8474 §5.2 allows NIL for a server that does not keep threads).

// mailboxID is the MAILBOXID of a folder.
func mailboxID(folderID int64) string { return "F" + strconv.FormatInt(folderID, 10) }

// emailID is the EMAILID of an item.
func emailID(itemID int64) string { return "M" + strconv.FormatInt(itemID, 10) }
