// Package blob stores immutable, content-addressed byte streams.
//
// Invariants every backend keeps:
//   - A blob's ID is the lowercase hex SHA-256 of its bytes, so identical
//     content is stored once (single instance storage, SPEC §3).
//   - Put streams its input: memory use does not grow with the blob's size.
//   - Put returns only after the bytes are durable (file and directory
//     fsynced, or the object store acknowledged the write).
//   - Blobs are never modified. Deciding when a blob may be deleted is the
//     caller's job (the store keeps reference counts); Delete of a missing
//     blob is not an error.
package blob

import (
	"context"
	"errors"
	"io"
)

// ID is the lowercase hex SHA-256 of a blob's content.
type ID string

// ErrNotFound is returned by Open and Stat for a blob that does not exist.
var ErrNotFound = errors.New("blob: not found")

// ErrInvalidID is returned by Open, Stat and Delete for an ID that Valid
// rejects. Backends check the ID before touching storage, so a malformed ID
// (such as "../x") can never name a file or object outside the store, and is
// never mistaken for a missing blob.
var ErrInvalidID = errors.New("blob: invalid id")

// Store is a content-addressed blob store.
type Store interface {
	// Put reads r to EOF, stores the bytes and returns their ID and size.
	// It returns only after the content is durable.
	Put(ctx context.Context, r io.Reader) (ID, int64, error)
	// Stage reads r to EOF into temporary storage, without making it
	// durable, and returns the content's ID and size. The caller then
	// commits it (the same as a Put) or discards it, for instance after
	// finding that the content is stored already: a known blob then costs
	// no write to the store and no fsync.
	Stage(ctx context.Context, r io.Reader) (Staged, error)
	// Open returns the blob's content.
	Open(ctx context.Context, id ID) (io.ReadCloser, error)
	// Stat returns the blob's size, or ErrNotFound.
	Stat(ctx context.Context, id ID) (int64, error)
	// Delete removes a blob. Deleting a missing blob succeeds.
	Delete(ctx context.Context, id ID) error
	// Walk calls fn for every stored blob, in no particular order.
	Walk(ctx context.Context, fn func(ID) error) error
}

// Staged is content read by Store.Stage and not yet stored. It is not safe
// for concurrent use.
type Staged interface {
	ID() ID
	Size() int64
	// Commit stores the content under its ID and returns once it is
	// durable, as Put does.
	Commit(ctx context.Context) error
	// Discard drops the temporary copy. It is a no-op after Commit or a
	// previous Discard; callers may defer it.
	Discard()
}

// Valid reports whether s has the form of an ID (64 lowercase hex digits).
func Valid(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
