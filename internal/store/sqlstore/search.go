package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/store"
)

// The full-text index (store.Index). Documents arrive analysed
// (internal/search: folded, normalised, CJK as bigrams), so both engines
// only store and look up tokens and behave alike:
//
//   - SQLite: one contentless FTS5 table (rowid = item id, a column per
//     field), tokenizer unicode61 without its own diacritics folding: the
//     tokens are already folded, and the tokenizer only splits them at
//     the spaces between them. Deleting a row needs contentless_delete
//     (SQLite 3.43).
//   - PostgreSQL: a tsvector per document built from a literal, not by
//     to_tsvector: no text-search configuration, parser or locale is
//     involved. A lexeme is "field:token" (one tsvector and one GIN index
//     serve every field), with its positions for phrases.
//
// search_docs lists the documents per store (status, reset); on
// PostgreSQL it holds the tsvector too.

const sqliteSearchTable = `CREATE VIRTUAL TABLE search_fts USING fts5(
	f_from, f_to, f_cc, f_bcc, f_subject, f_ids, f_body, f_attach, f_stem,
	content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0')`

const pgSearchIndex = `CREATE INDEX search_docs_doc ON search_docs USING GIN (doc)`

// Field codes: the FTS5 column and the PostgreSQL lexeme prefix.
var ftsColumn = map[store.IndexField]string{
	store.FieldFrom: "f_from", store.FieldTo: "f_to", store.FieldCc: "f_cc", store.FieldBcc: "f_bcc",
	store.FieldSubject: "f_subject", store.FieldIDs: "f_ids", store.FieldBody: "f_body",
	store.FieldAttach: "f_attach", store.FieldStem: "f_stem",
}

var pgPrefix = map[store.IndexField]string{
	store.FieldFrom: "f", store.FieldTo: "t", store.FieldCc: "c", store.FieldBcc: "w",
	store.FieldSubject: "s", store.FieldIDs: "i", store.FieldBody: "b",
	store.FieldAttach: "a", store.FieldStem: "z",
}

// PostgreSQL tsvector limits (docs: "Text Search Limitations"): 1 MB
// per tsvector, positions up to 16383, 256 positions per lexeme.
const (
	pgMaxVector    = 900_000
	pgMaxPos       = 16383
	pgMaxPositions = 256
)

// IndexStatuses implements store.Index.
func (d *DB) IndexStatuses(ctx context.Context, storeID int64, pending bool) ([]store.IndexStatus, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.IndexStatus
	err = d.read(ctx, func(t *tx) error {
		if storeID != 0 {
			_, full, err := t.storeAccess(p, storeID)
			if err != nil {
				return err
			}
			if !full {
				return fmt.Errorf("index status of store %d: %w", storeID, store.ErrPermission)
			}
		} else if !p.IsSystemAdmin() {
			return fmt.Errorf("index status of all stores: %w", store.ErrPermission)
		}
		q := `SELECT s.id, s.modseq, COALESCE(c.seq, 0), COALESCE(u.login, '') FROM stores s
			LEFT JOIN search_cursor c ON c.store_id = s.id
			LEFT JOIN users u ON u.id = s.owner_id AND s.owner_id <> 0
			WHERE s.deleted = 0`
		var args []any
		if storeID != 0 {
			q += ` AND s.id = ?`
			args = append(args, storeID)
		}
		if pending {
			q += ` AND s.modseq > COALESCE(c.seq, 0)`
		}
		rows, err := t.query(q+` ORDER BY s.id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var st store.IndexStatus
			var ms, seq int64
			if err := rows.Scan(&st.StoreID, &ms, &seq, &st.Owner); err != nil {
				rows.Close()
				return err
			}
			st.ModSeq, st.IndexedTo = uint64(ms), uint64(seq)
			out = append(out, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if pending {
			return nil // the indexer's poll: positions are all it needs
		}
		for i := range out {
			st := &out[i]
			if err := t.row(`SELECT COUNT(*) FROM changes WHERE store_id = ? AND seq > ?`, st.StoreID, int64(st.IndexedTo)).Scan(&st.Backlog); err != nil {
				return err
			}
			if err := t.row(`SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM search_docs WHERE store_id = ?`, st.StoreID).Scan(&st.Docs, &st.Bytes); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index status: %w", err)
	}
	return out, nil
}

// WriteIndex implements store.Index.
func (d *DB) WriteIndex(ctx context.Context, storeID int64, from, to uint64, docs []store.IndexDoc) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if !p.System {
		return fmt.Errorf("write index: %w", store.ErrPermission)
	}
	if len(docs) > store.MaxIndexBatch || to < from {
		return fmt.Errorf("write index: %d documents, cursor %d to %d: %w", len(docs), from, to, store.ErrInvalid)
	}
	// Build the engine's input outside the transaction.
	type prepared struct {
		id    int64
		bytes int64
		cols  []any  // SQLite: one string per FTS5 column
		vec   string // PostgreSQL: tsvector literal
	}
	ps := make([]prepared, 0, len(docs))
	for _, doc := range docs {
		pd := prepared{id: doc.ItemID, bytes: doc.Bytes}
		clean := make(map[store.IndexField][]string, len(doc.Fields))
		for f, toks := range doc.Fields {
			if len(toks) > store.MaxDocTokens {
				toks = toks[:store.MaxDocTokens]
			}
			clean[f] = cleanTokens(toks)
		}
		doc.Fields = clean
		if d.dialect == postgres {
			pd.vec = tsvectorLiteral(doc.Fields)
		} else {
			for _, f := range store.IndexFields {
				pd.cols = append(pd.cols, strings.Join(doc.Fields[f], " "))
			}
		}
		ps = append(ps, pd)
	}
	err = d.write(ctx, func(t *tx) error {
		q := `SELECT seq FROM search_cursor WHERE store_id = ?`
		if d.dialect == postgres {
			q += ` FOR UPDATE`
		}
		var cur int64
		switch err := t.row(q, storeID).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			cur = 0
		case err != nil:
			return err
		}
		if uint64(cur) != from {
			return fmt.Errorf("index cursor of store %d is at %d, not %d: %w", storeID, cur, from, store.ErrConflict)
		}
		for _, pd := range ps {
			var n int
			if err := t.row(`SELECT COUNT(*) FROM items WHERE id = ? AND store_id = ?`, pd.id, storeID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				continue // purged meanwhile, or not this store's
			}
			if err := t.dropIndexDoc(pd.id); err != nil {
				return err
			}
			if d.dialect == postgres {
				if _, err := t.exec(`INSERT INTO search_docs (item_id, store_id, bytes, doc) VALUES (?, ?, ?, ?::tsvector)`, pd.id, storeID, pd.bytes, pd.vec); err != nil {
					return err
				}
				continue
			}
			if _, err := t.exec(`INSERT INTO search_docs (item_id, store_id, bytes) VALUES (?, ?, ?)`, pd.id, storeID, pd.bytes); err != nil {
				return err
			}
			args := append([]any{pd.id}, pd.cols...)
			if _, err := t.exec(`INSERT INTO search_fts (rowid, f_from, f_to, f_cc, f_bcc, f_subject, f_ids, f_body, f_attach, f_stem)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
				return err
			}
		}
		_, err := t.exec(`INSERT INTO search_cursor (store_id, seq) VALUES (?, ?)
			ON CONFLICT (store_id) DO UPDATE SET seq = excluded.seq`, storeID, int64(to))
		return err
	})
	if err != nil {
		return fmt.Errorf("write index of store %d: %w", storeID, err)
	}
	return nil
}

// dropIndexDoc removes an item's document, if it has one.
func (t *tx) dropIndexDoc(itemID int64) error {
	res, err := t.exec(`DELETE FROM search_docs WHERE item_id = ?`, itemID)
	if err != nil {
		return err
	}
	if t.d.dialect == postgres {
		return nil
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	_, err = t.exec(`DELETE FROM search_fts WHERE rowid = ?`, itemID)
	return err
}

// ResetIndex implements store.Index.
func (d *DB) ResetIndex(ctx context.Context, storeID int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	err = d.write(ctx, func(t *tx) error {
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full || (!p.System && !p.AdministersTenant(s.TenantID) && !p.IsSystemAdmin()) {
			return fmt.Errorf("reset index of store %d: %w", storeID, store.ErrPermission)
		}
		if d.dialect == sqlite {
			if _, err := t.exec(`DELETE FROM search_fts WHERE rowid IN (SELECT item_id FROM search_docs WHERE store_id = ?)`, storeID); err != nil {
				return err
			}
		}
		if _, err := t.exec(`DELETE FROM search_docs WHERE store_id = ?`, storeID); err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO search_cursor (store_id, seq) VALUES (?, 0)
			ON CONFLICT (store_id) DO UPDATE SET seq = 0`, storeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset index of store %d: %w", storeID, err)
	}
	return nil
}

// IndexSize implements store.Index.
func (d *DB) IndexSize(ctx context.Context) (int64, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return 0, err
	}
	if !p.IsSystemAdmin() {
		return 0, fmt.Errorf("index size: %w", store.ErrPermission)
	}
	var n int64
	err = d.read(ctx, func(t *tx) error {
		if d.dialect == postgres {
			return t.row(`SELECT COALESCE(pg_total_relation_size(to_regclass('search_docs')), 0)`).Scan(&n)
		}
		return t.row(`SELECT COALESCE(SUM(length(block)), 0) + (SELECT COUNT(*) * 24 FROM search_docs) FROM search_fts_data`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("index size: %w", err)
	}
	return n, nil
}

// SearchIndex implements store.Index. The cursor is read before the
// documents: every item indexed up to it is then certainly among the
// documents searched (a later commit only adds some).
func (d *DB) SearchIndex(ctx context.Context, folderID int64, q store.IndexQuery) ([]store.IndexHit, uint64, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, 0, err
	}
	expr, err := d.indexExpr(q)
	if err != nil {
		return nil, 0, err
	}
	limit := q.Limit
	if limit <= 0 || limit > store.MaxIndexHits {
		limit = store.MaxIndexHits
	}
	var hits []store.IndexHit
	var cursor int64
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		switch err := t.row(`SELECT seq FROM search_cursor WHERE store_id = ?`, a.st.ID).Scan(&cursor); {
		case errors.Is(err, sql.ErrNoRows):
			cursor = 0
		case err != nil:
			return err
		}
		if q.Unranked {
			var listed bool
			hits, listed, err = t.searchListed(a.st.ID, folderID, expr, limit)
			if err != nil || listed {
				return err
			}
		}
		var rows *sql.Rows
		switch {
		case q.Unranked && d.dialect == postgres:
			rows, err = t.query(`SELECT i.id, i.uid, 0 FROM search_docs d
				JOIN items i ON i.id = d.item_id
				WHERE d.store_id = ? AND d.doc @@ ?::tsquery AND i.folder_id = ? AND i.deleted = 0
				LIMIT ?`, a.st.ID, expr, folderID, limit)
		case q.Unranked:
			rows, err = t.query(`SELECT i.id, i.uid, 0 FROM search_fts
				JOIN items i ON i.id = search_fts.rowid
				WHERE search_fts MATCH ? AND i.folder_id = ? AND i.deleted = 0
				LIMIT ?`, expr, folderID, limit)
		case d.dialect == postgres:
			rows, err = t.query(`SELECT i.id, i.uid, ts_rank(d.doc, ?::tsquery) AS score FROM search_docs d
				JOIN items i ON i.id = d.item_id
				WHERE d.store_id = ? AND d.doc @@ ?::tsquery AND i.folder_id = ? AND i.deleted = 0
				ORDER BY score DESC, i.uid LIMIT ?`, expr, a.st.ID, expr, folderID, limit)
		default:
			rows, err = t.query(`SELECT i.id, i.uid, -bm25(search_fts) AS score FROM search_fts
				JOIN items i ON i.id = search_fts.rowid
				WHERE search_fts MATCH ? AND i.folder_id = ? AND i.deleted = 0
				ORDER BY score DESC, i.uid LIMIT ?`, expr, folderID, limit)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h store.IndexHit
			var uid int64
			if err := rows.Scan(&h.ItemID, &uid, &h.Score); err != nil {
				return err
			}
			h.UID = uint32(uid)
			hits = append(hits, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("search folder %d: %w", folderID, err)
	}
	return hits, uint64(cursor), nil
}

// searchListed answers an unranked query over a large folder without
// looking every hit up in items, which at 100,000 messages and a common
// word (25,000 hits) was most of an IMAP SEARCH TEXT: the engine's
// matching item ids (of any folder, within the range of the folder's
// ids) are read as one aggregated value and intersected in memory with
// the folder's cached listing (listCache, the one IMAP SELECT reads),
// if its membership is still the folder's as read after the cursor
// (listCache.members; flag changes since do not matter): the hits are
// then the folder's live items whose documents match, as the join finds
// them. listed is false when no such listing is cached; the caller
// joins.
func (t *tx) searchListed(storeID, folderID int64, expr string, limit int) (hits []store.IndexHit, listed bool, err error) {
	var uv, un, n int64
	if err := t.row(`SELECT uidvalidity, uidnext, messages FROM folders WHERE id = ?`, folderID).Scan(&uv, &un, &n); err != nil {
		return nil, false, err
	}
	items, byID, ok := t.d.lists.members(folderID, uint32(uv), uint32(un), n)
	if !ok {
		return nil, false, nil
	}
	if len(items) == 0 {
		return nil, true, nil
	}
	lo, hi := items[byID[0]].ID, items[byID[len(byID)-1]].ID
	var agg sql.NullString
	if t.d.dialect == postgres {
		// No item_id range here: PostgreSQL would take it for a scan of
		// the primary key testing every document, not the GIN index.
		err = t.row(`SELECT string_agg(item_id::text, ',') FROM search_docs
			WHERE store_id = ? AND doc @@ ?::tsquery`, storeID, expr).Scan(&agg)
	} else {
		err = t.row(`SELECT group_concat(rowid) FROM search_fts
			WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ?`, expr, lo, hi).Scan(&agg)
	}
	if err != nil {
		return nil, false, err
	}
	ids, err := parseIDList(agg.String)
	if err != nil {
		return nil, false, err
	}
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	if len(ids)*16 < len(byID) {
		// Few hits in a large folder: a binary search for each.
		j := 0
		for _, id := range ids {
			if len(hits) >= limit {
				break
			}
			j += sort.Search(len(byID)-j, func(k int) bool { return items[byID[j+k]].ID >= id })
			if j < len(byID) && items[byID[j]].ID == id {
				hits = append(hits, store.IndexHit{ItemID: id, UID: items[byID[j]].UID})
			}
		}
		return hits, true, nil
	}
	// Both lists ascend: one merge.
	for i, j := 0, 0; i < len(ids) && j < len(byID) && len(hits) < limit; {
		it := &items[byID[j]]
		switch {
		case ids[i] < it.ID:
			i++
		case ids[i] > it.ID:
			j++
		default:
			hits = append(hits, store.IndexHit{ItemID: it.ID, UID: it.UID})
			i++
			j++
		}
	}
	return hits, true, nil
}

// parseIDList reads "1,2,3" (the engines' aggregate of ids).
func parseIDList(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	ids := make([]int64, 0, strings.Count(s, ",")+1)
	for s != "" {
		var f string
		f, s, _ = strings.Cut(s, ",")
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("index hits: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// indexExpr translates a query into the engine's syntax, quoting every
// token.
func (d *DB) indexExpr(q store.IndexQuery) (string, error) {
	if len(q.Terms) == 0 || len(q.Terms) > store.MaxIndexTerms {
		return "", fmt.Errorf("search: %d terms: %w", len(q.Terms), store.ErrInvalid)
	}
	var pos, neg []string
	for _, term := range q.Terms {
		if len(term.Tokens) == 0 || len(term.Tokens) > store.MaxPhraseLen || len(term.Fields) == 0 {
			return "", fmt.Errorf("search: term of %d tokens in %d fields: %w", len(term.Tokens), len(term.Fields), store.ErrInvalid)
		}
		for _, tok := range term.Tokens {
			if !validToken(tok) {
				return "", fmt.Errorf("search: token %q: %w", tok, store.ErrInvalid)
			}
		}
		var e string
		var err error
		if d.dialect == postgres {
			e, err = tsqueryTerm(term)
		} else {
			e, err = ftsTerm(term)
		}
		if err != nil {
			return "", err
		}
		if term.Not {
			neg = append(neg, e)
		} else {
			pos = append(pos, e)
		}
	}
	if len(pos) == 0 {
		return "", fmt.Errorf("search: only negated terms: %w", store.ErrInvalid)
	}
	if d.dialect == postgres {
		s := strings.Join(pos, " & ")
		for _, n := range neg {
			s += " & !" + n
		}
		return s, nil
	}
	s := "(" + strings.Join(pos, " AND ") + ")"
	for _, n := range neg {
		s += " NOT " + n
	}
	return s, nil
}

// validToken reports whether tok can be a token: 1 to MaxIndexToken
// bytes of letters, digits and marks, as the analyser makes them. The
// check keeps anything else (a NUL, punctuation the engine's tokenizer
// would split at) from reaching either engine.
func validToken(tok string) bool {
	if tok == "" || len(tok) > store.MaxIndexToken || !utf8.ValidString(tok) {
		return false
	}
	for _, r := range tok {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return true
}

// cleanTokens drops tokens validToken refuses from a document.
func cleanTokens(toks []string) []string {
	out := toks[:0:0]
	for _, t := range toks {
		if validToken(t) {
			out = append(out, t)
		}
	}
	return out
}

// ftsTerm is an FTS5 expression: {columns} : "tok tok" [*].
func ftsTerm(term store.IndexTerm) (string, error) {
	var cols []string
	for _, f := range term.Fields {
		c, ok := ftsColumn[f]
		if !ok {
			return "", fmt.Errorf("search: field %q: %w", f, store.ErrInvalid)
		}
		cols = append(cols, c)
	}
	phrase := `"` + strings.ReplaceAll(strings.Join(term.Tokens, " "), `"`, `""`) + `"`
	if term.Prefix {
		phrase += " *"
	}
	return "({" + strings.Join(cols, " ") + "} : " + phrase + ")", nil
}

// tsqueryTerm is a tsquery: ('f:a' <-> 'f:b':* | 'g:a' <-> 'g:b':*).
func tsqueryTerm(term store.IndexTerm) (string, error) {
	var alts []string
	for _, f := range term.Fields {
		pre, ok := pgPrefix[f]
		if !ok {
			return "", fmt.Errorf("search: field %q: %w", f, store.ErrInvalid)
		}
		var b strings.Builder
		for i, tok := range term.Tokens {
			if i > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteString(pgQuote(pre + ":" + tok))
			if term.Prefix && i == len(term.Tokens)-1 {
				b.WriteString(":*")
			}
		}
		alts = append(alts, b.String())
	}
	return "(" + strings.Join(alts, " | ") + ")", nil
}

// pgQuote quotes a lexeme for tsvector and tsquery input.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// tsvectorLiteral builds a tsvector from the fields' tokens, within
// PostgreSQL's limits: positions beyond 16383 share the last one, a
// lexeme keeps at most 256, and lexemes stop being added near 1 MB.
func tsvectorLiteral(fields map[store.IndexField][]string) string {
	type lex struct {
		pos []int
	}
	lexes := map[string]*lex{}
	var order []string
	size := 0
	pos := 0
	for _, f := range store.IndexFields {
		pre := pgPrefix[f] + ":"
		for _, tok := range fields[f] {
			pos = min(pos+1, pgMaxPos)
			k := pre + tok
			l := lexes[k]
			if l == nil {
				if size+len(k)+8 > pgMaxVector {
					continue
				}
				l = &lex{}
				lexes[k] = l
				order = append(order, k)
				size += len(k) + 8
			}
			if len(l.pos) < pgMaxPositions && (len(l.pos) == 0 || l.pos[len(l.pos)-1] != pos) {
				l.pos = append(l.pos, pos)
				size += 2
			}
		}
		pos = min(pos+1, pgMaxPos) // no phrase across fields
	}
	var b strings.Builder
	for i, k := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pgQuote(k))
		b.WriteByte(':')
		for j, p := range lexes[k].pos {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}
