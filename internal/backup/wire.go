package backup

import "time"

// The admin API's wire types (POST /v1/backup, POST /v1/restore), shared
// by the server and roost backup/restore.

// Request is the body of POST /v1/backup.
type Request struct {
	To     string   `json:"to"`               // the backup directory on the server's host (absolute), or s3://BUCKET/PREFIX
	Logins []string `json:"logins"`           // none: every user's store
	Tenant string   `json:"tenant,omitempty"` // with no logins: only this tenant's users
	// S3 reaches an s3:// location; nil (or no endpoint): the server's
	// own s3_ settings.
	S3 *S3Config `json:"s3,omitempty"`
}

// RestoreRequest is the body of POST /v1/restore.
type RestoreRequest struct {
	From   string    `json:"from"` // the backup directory on the server's host (absolute), or s3://BUCKET/PREFIX
	Login  string    `json:"login"`
	Folder string    `json:"folder,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Into   string    `json:"into,omitempty"`
	S3     *S3Config `json:"s3,omitempty"` // as in Request
}

// Event is one line of the NDJSON stream POST /v1/backup and
// POST /v1/restore answer with: progress reports, then either the
// summary or the error that stopped the work.
type Event struct {
	Progress *Progress       `json:"progress,omitempty"`
	Backup   *Summary        `json:"backup,omitempty"`
	Restore  *RestoreSummary `json:"restore,omitempty"`
	Import   *ImportSummary  `json:"import,omitempty"`
	Export   *ExportSummary  `json:"export,omitempty"`
	Error    string          `json:"error,omitempty"`
	Damaged  bool            `json:"damaged,omitempty"` // the error is a damaged backup
}
