package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// normFlags validates and sorts flags. System flags keep their case
// (\Seen); keywords are case-insensitive in IMAP and kept as given.
func normFlags(flags []string) ([]string, error) {
	if len(flags) > maxFlags {
		return nil, fmt.Errorf("at most %d flags: %w", maxFlags, store.ErrInvalid)
	}
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" || len(f) > maxFlagLen {
			return nil, fmt.Errorf("invalid flag %q: %w", f, store.ErrInvalid)
		}
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"]`, c) >= 0 || (c == '\\' && i != 0) {
				return nil, fmt.Errorf("invalid flag %q: %w", f, store.ErrInvalid)
			}
		}
		if f[0] == '\\' {
			switch strings.ToLower(f) {
			case `\seen`:
				f = `\Seen`
			case `\answered`:
				f = `\Answered`
			case `\flagged`:
				f = `\Flagged`
			case `\deleted`:
				f = `\Deleted`
			case `\draft`:
				f = `\Draft`
			default:
				return nil, fmt.Errorf("unknown system flag %q: %w", f, store.ErrInvalid)
			}
		}
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, f) }) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// flagRights returns the rights needed to set or clear flags (RFC 4314 §4).
func flagRights(flags []string) string {
	need := ""
	for _, f := range flags {
		switch f {
		case `\Seen`:
			need += "s"
		case `\Deleted`:
			need += "t"
		default:
			need += "w"
		}
	}
	return need
}

// UpdateFlags implements store.Mail. Each changed item gets a new MODSEQ;
// items whose flags do not change keep theirs (RFC 7162 §3.1.3).
func (d *DB) UpdateFlags(ctx context.Context, folderID int64, uids []uint32, op store.FlagOp, flags []string) ([]store.ItemSummary, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	flags, err = normFlags(flags)
	if err != nil {
		return nil, err
	}
	var out []store.ItemSummary
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil {
			return err
		}
		out = out[:0]
		type change struct {
			it    *store.Item
			flags []string
		}
		var changes []change
		for _, it := range items {
			nf := slices.Clone(it.Flags)
			switch op {
			case store.FlagsReplace:
				nf = slices.Clone(flags)
			case store.FlagsAdd:
				for _, f := range flags {
					if !slices.Contains(nf, f) {
						nf = append(nf, f)
					}
				}
			case store.FlagsRemove:
				nf = slices.DeleteFunc(nf, func(x string) bool { return slices.Contains(flags, x) })
			}
			slices.Sort(nf)
			if slices.Equal(nf, it.Flags) {
				out = append(out, store.ItemSummary{ID: it.ID, UID: it.UID, ModSeq: it.ModSeq, Flags: it.Flags, Size: it.Size, InternalDate: it.InternalDate})
				continue
			}
			// Rights for every flag that changes (either direction).
			var diff []string
			for _, f := range nf {
				if !slices.Contains(it.Flags, f) {
					diff = append(diff, f)
				}
			}
			for _, f := range it.Flags {
				if !slices.Contains(nf, f) {
					diff = append(diff, f)
				}
			}
			if need := flagRights(diff); !store.HasRights(a.rights, need) {
				return fmt.Errorf("folder %q: changing %v needs right %q: %w", a.folder.Name, diff, need, store.ErrPermission)
			}
			changes = append(changes, change{it, nf})
		}
		if len(changes) == 0 {
			return nil
		}
		fc := make([]flagChange, len(changes))
		for i, c := range changes {
			fc[i] = flagChange{c.it.ID, c.it.UID, c.flags}
		}
		seq, err := t.setFlags(a.st.ID, folderID, fc)
		if err != nil {
			return err
		}
		for i, c := range changes {
			out = append(out, store.ItemSummary{ID: c.it.ID, UID: c.it.UID, ModSeq: seq + uint64(i), Flags: c.flags, Size: c.it.Size, InternalDate: c.it.InternalDate})
		}
		slices.SortFunc(out, func(x, y store.ItemSummary) int { return int(int64(x.UID) - int64(y.UID)) })
		return nil
	})
	return out, err
}

// setFlags writes new flags of items of one folder: n MODSEQ values of the
// store (the i-th change gets the i-th), the items, their journal entries
// and the folder's HIGHESTMODSEQ. It returns the first MODSEQ. The caller
// holds the store's lock.
func (t *tx) setFlags(storeID, folderID int64, changes []flagChange) (uint64, error) {
	if t.d.dialect == postgres {
		return t.setFlagsPG(storeID, folderID, changes)
	}
	seq, err := t.nextModSeq(storeID, len(changes))
	if err != nil {
		return 0, err
	}
	for i, c := range changes {
		ms := seq + uint64(i)
		if _, err := t.exec(`UPDATE items SET flags = ?, modseq = ? WHERE id = ?`, strings.Join(c.flags, " "), int64(ms), c.id); err != nil {
			return 0, err
		}
		if err := t.journal(storeID, ms, store.ChangeItemUpdated, folderID, c.id, c.uid); err != nil {
			return 0, err
		}
	}
	if _, err := t.exec(`UPDATE folders SET highestmodseq = ? WHERE id = ?`, int64(seq)+int64(len(changes))-1, folderID); err != nil {
		return 0, err
	}
	return seq, nil
}
