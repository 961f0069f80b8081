package sqlstore

import "github.com/roost-mail/roost/internal/blob"

// Blobs returns the blob store the database keeps message bytes in. JMAP
// uploads (blobs no item references yet) are written to it directly.
func (d *DB) Blobs() blob.Store { return d.blobs }
