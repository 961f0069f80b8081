// Package eas holds Exchange ActiveSync's wire vocabulary: the WBXML code
// pages ([MS-ASWBXML] §2.1.2.1), protocol versions, command names and
// status codes ([MS-ASCMD]), and the request line of [MS-ASHTTP] (plain
// and base64-encoded query strings). Like every proto package it knows
// nothing of storage or the network.
package eas

import (
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// Code page numbers ([MS-ASWBXML] §2.1.2.1).
const (
	AirSync           byte = 0
	Contacts          byte = 1
	Email             byte = 2
	Calendar          byte = 4
	Move              byte = 5
	GetItemEstimate   byte = 6
	FolderHierarchy   byte = 7
	MeetingResponse   byte = 8
	Tasks             byte = 9
	ResolveRecipients byte = 10
	ValidateCert      byte = 11
	Contacts2         byte = 12
	Ping              byte = 13
	Provision         byte = 14
	Search            byte = 15
	GAL               byte = 16
	AirSyncBase       byte = 17
	Settings          byte = 18
	ItemOperations    byte = 20
	ComposeMail       byte = 21
	Email2            byte = 22
	Notes             byte = 23
	Find              byte = 25
)

// Table is ActiveSync's code page table.
var Table = wbxml.NewTable(pages)

// Versions are the protocol versions served, oldest first
// (MS-ASProtocolVersions).
var Versions = []string{"12.1", "14.0", "14.1", "16.0", "16.1"}

// Commands are the commands served (MS-ASProtocolCommands).
var Commands = []string{"Sync", "SendMail", "SmartForward", "SmartReply", "GetAttachment", "FolderSync",
	"FolderCreate", "FolderDelete", "FolderUpdate", "MoveItems", "GetItemEstimate", "Provision",
	"Ping", "ItemOperations", "Settings", "MeetingResponse", "Search", "Find", "ResolveRecipients", "ValidateCert"}

// Decode parses an ActiveSync WBXML body.
func Decode(data []byte, lim wbxml.Limits) (*wbxml.Node, error) {
	return wbxml.Decode(data, Table, lim)
}

// Encode writes an ActiveSync WBXML body.
func Encode(n *wbxml.Node) ([]byte, error) { return wbxml.Encode(n, Table) }

// XML renders n for logs and tests.
func XML(n *wbxml.Node) string { return wbxml.XML(n, Table) }

// Common status codes ([MS-ASCMD] §2.2.2 "Common Status Codes", 14.0 and
// later; 12.1 clients get HTTP 449 or 403 instead where noted).
const (
	StatusInvalidContent        = 101
	StatusInvalidWBXML          = 102
	StatusInvalidXML            = 103
	StatusInvalidDateTime       = 104
	StatusInvalidCombination    = 105
	StatusMessageTooLarge       = 115
	StatusMailboxQuotaExceeded  = 113
	StatusMailSubmissionFailed  = 120
	StatusServerError           = 110
	StatusServerErrorRetryLater = 111
	StatusAccessDenied          = 126
	StatusSendQuotaExceeded     = 119
	StatusUserDisabledForSync   = 129
	StatusDeviceNotProvisioned  = 142 // 12.1: HTTP 449
	StatusPolicyRefresh         = 143
	StatusInvalidPolicyKey      = 144 // 12.1: HTTP 449
	StatusRemoteWipeRequested   = 140 // 12.1: HTTP 449
	StatusItemNotFound          = 150
	StatusMaximumDevices        = 177
	StatusInvalidRecipients     = 183
)
