package backup

import (
	"context"
	"errors"
	"fmt"
)

// VerifyReport is what Verify checked and found.
type VerifyReport struct {
	Runs    int      `json:"runs"`
	Stores  int      `json:"stores"`  // store entries over all runs
	Items   int64    `json:"items"`   // item records
	Objects int64    `json:"objects"` // distinct objects read and hashed
	Bytes   int64    `json:"bytes"`
	Errors  []string `json:"errors,omitempty"`
}

// maxVerifyErrors bounds the problems a report lists.
const maxVerifyErrors = 1000

// Verify checks every run of the backup at loc (a directory or an s3://
// location): each manifest against
// its checksum, each store file against the manifest, and every object a
// store file names, read whole and hashed. The report lists every
// problem; the error is non-nil (wrapping ErrDamaged) when there is one.
func Verify(ctx context.Context, loc Location, progress func(done, all int64)) (*VerifyReport, error) {
	rep := &VerifyReport{}
	add := func(err error) {
		if len(rep.Errors) < maxVerifyErrors {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	r, err := openRepo(ctx, loc, false)
	if err != nil {
		return nil, err
	}
	defer r.close()
	runs, err := listRuns(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r, err)
	}
	objects := map[string]int64{}
	for _, run := range runs {
		if ok, err := hasManifest(ctx, r, run); err != nil {
			return nil, fmt.Errorf("read %s: %w", r, err)
		} else if !ok {
			continue // interrupted: never counted, restore ignores it
		}
		rep.Runs++
		m, err := readManifest(ctx, r, run)
		if err != nil {
			add(err)
			continue
		}
		for _, e := range m.Stores {
			rep.Stores++
			recs, err := readStoreFile(ctx, r, run, e)
			if err != nil {
				add(err)
				continue
			}
			for _, rec := range recs {
				if rec.T == "item" {
					rep.Items++
					objects[rec.Hash] = rec.Size
				}
			}
		}
	}
	if rep.Runs == 0 {
		add(fmt.Errorf("%s holds no backup run with a manifest", r))
	}
	var done int64
	if err := checkAll(ctx, r, objects, func(h string, size int64, err error) bool {
		if err != nil {
			add(err)
		} else {
			rep.Bytes += size
		}
		rep.Objects++
		done++
		if progress != nil {
			progress(done, int64(len(objects)))
		}
		return true
	}); err != nil {
		return nil, err
	}
	if len(rep.Errors) > 0 {
		if len(rep.Errors) == 1 {
			return rep, fmt.Errorf("%s: %w", rep.Errors[0], ErrDamaged)
		}
		return rep, fmt.Errorf("%d problems, the first: %s: %w", len(rep.Errors), rep.Errors[0], ErrDamaged)
	}
	return rep, nil
}

// IsDamaged reports whether err says a backup is damaged.
func IsDamaged(err error) bool { return errors.Is(err, ErrDamaged) }
