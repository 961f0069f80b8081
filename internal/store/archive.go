package store

import (
	"context"
	"io"
	"time"
)

// Archive stores (kopano-archiver, SPEC §3 "Store: … archive").
//
// Invariants, kept by every backend and checked by storetest:
//   - A user has at most one attached archive store (Kind StoreArchive,
//     OwnerID the user). Detaching makes it an orphan: it is kept, listed
//     by ListOrphans and removed by RemoveStore like any orphan.
//   - An archive store is read-only for every principal but the system
//     one: its owner (and the administrators of its tenant) hold at most
//     the lookup and read rights on its folders, so every write — append,
//     flag change, expunge, move, folder creation, ACL or property
//     change — is ErrPermission, whatever protocol asks. Only the
//     archiver, acting as the system principal, writes it.
//   - Archiving an item (ArchiveItems) copies it and records the copy in
//     the same transaction, so an item is archived at most once, also
//     across interrupted runs; the copy goes through the change journal
//     of the archive store like any append.
//   - Archive stores do not count against their owner's quota.

// ArchivedItem records that an item of a private store was copied into
// its owner's archive store.
type ArchivedItem struct {
	ItemID        int64 // the item in the private store (or its stub)
	ArchiveItemID int64 // its copy in the archive store
	Archived      time.Time
	Stubbed       bool // the original's body was replaced by a stub (StubItem)
}

// ArchivePlacement is where an archived message's copy is, and where its
// original is now (ArchivePlacements): the archiver moves the copy after
// the original ("follow moves", as kopano-archiver does).
type ArchivePlacement struct {
	ArchiveItemID   int64  // the copy in the archive store (live)
	ArchiveFolderID int64  // its folder
	ArchiveUID      uint32 // its UID there
	// FolderID is the folder of the original (or of its stub) in the
	// private store while it is live; 0 once the user deleted it.
	FolderID int64
	// Removed: the archiver removed the original by its removal rule
	// (RemoveArchived), which the copy does not follow.
	Removed bool
}

// Archives keeps users' archive stores.
type Archives interface {
	// AttachArchive creates an archive store for login, recorded as
	// living on node ("" = the node of the user's own store).
	// Administrators of the user's tenant; ErrConflict when the user has
	// an archive already.
	AttachArchive(ctx context.Context, login, node string) (*Store, error)
	// DetachArchive makes a user's archive store an orphan (kept, with
	// FormerOwner set). ErrNotFound when the user has none.
	DetachArchive(ctx context.Context, login string) error
	// ListArchives lists the attached archive stores of tenant ("" =
	// every tenant the principal administers), by id.
	ListArchives(ctx context.Context, tenant string) ([]*Store, error)
	// UserArchive returns the archive store of login: the user itself and
	// its tenant's administrators. ErrNotFound when there is none.
	UserArchive(ctx context.Context, login string) (*Store, error)
	// ArchiveItems copies live items of a folder of a private store into
	// destID, a folder of the archive store of the same owner, keeping
	// flags and internal date, and records each copy in the same
	// transaction; items already archived are skipped. System principal
	// only. Returns the source UIDs copied and their UIDs in destID.
	ArchiveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]UIDMap, error)
	// ArchivedItems returns the records of a folder's live items that
	// were archived, by item id. System principal only.
	ArchivedItems(ctx context.Context, folderID int64) (map[int64]ArchivedItem, error)
	// StubItem replaces the content of an archived live item with
	// content (a stub naming the archived copy), keeping its flags and
	// internal date, and moves the archive record to the new item, in one
	// transaction. ErrInvalid when the item was not archived. System
	// principal only.
	StubItem(ctx context.Context, itemID int64, content io.Reader) (*Item, error)
	// ArchivePlacements lists the live copies in the archive store of the
	// items archived from private store storeID, each with where its
	// original is now, in archive item order. System principal only.
	ArchivePlacements(ctx context.Context, storeID int64) ([]ArchivePlacement, error)
	// RemoveArchived soft-deletes the live items of a folder of a private
	// store that were archived (the archiver's removal rule) and records
	// that the archiver removed them, in one transaction; items not
	// archived are left. System principal only. Returns the UIDs removed.
	RemoveArchived(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error)
}
