package search

import (
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want string
	}{
		{"Hello, World!", "hello world"},
		{"alice@Example.COM", "alice example com"},
		{"Café naïve RÉSUMÉ", "cafe naive resume"},
		{"Straße Grüße", "strasse grusse"},
		{"ＦＵＬＬ　ｗｉｄｔｈ", "full width"}, // NFKC
		{"ﬁle", "file"},              // ligature
		{"東京都に行く", "東京 京都 都に に行 行く く"},
		{"日本 語", "日本 本 語"},
		{"서울시 test", "서울 울시 시 test"},
		{"don't 3.14", "don t 3 14"},
		{"Москва Ёлка", "москва елка"},
		{"", ""},
		{"  \t\r\n", ""},
	} {
		if got := strings.Join(Tokens(c.in), " "); got != c.want {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", 100)
	if toks := Tokens(long); len(toks) != 1 || len(toks[0]) > store.MaxIndexToken {
		t.Errorf("long token: %q", toks)
	}
}

func TestQueryTokensCJK(t *testing.T) {
	t.Parallel()
	toks, lone := queryTokens("東京都")
	if !slices.Equal(toks, []string{"東京", "京都"}) || lone {
		t.Errorf("query 東京都: %q %v", toks, lone)
	}
	toks, lone = queryTokens("京")
	if !slices.Equal(toks, []string{"京"}) || !lone {
		t.Errorf("query 京: %q %v", toks, lone)
	}
}

func TestStem(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"meeting", "meetings", "meet"},
		{"report", "reports", "reporting", "reported"},
		{"running", "run"},
		{"haus", "hauser"}, // Häuser, folded
		{"kind", "kinder", "kindern"},
		{"bestellung", "bestellungen"},
	}
	for _, g := range same {
		for _, w := range g[1:] {
			if Stem(w) != Stem(g[0]) {
				t.Errorf("Stem(%q) = %q, Stem(%q) = %q: want equal", w, Stem(w), g[0], Stem(g[0]))
			}
		}
	}
	for _, w := range []string{"東京", "3d", "a1"} {
		if Stem(w) != w {
			t.Errorf("Stem(%q) = %q", w, Stem(w))
		}
	}
	if Stem("meeting") == Stem("meat") {
		t.Errorf("meeting and meat share a stem")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	q, err := Parse(`budget "quarterly report" -draft from:alice subject:Zürich repo* 京`, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.IndexTerm{
		{Fields: TextFields, Tokens: []string{"budget"}},
		{Fields: TextFields, Tokens: []string{"quarterly", "report"}},
		{Fields: TextFields, Tokens: []string{"draft"}, Not: true},
		{Fields: []store.IndexField{store.FieldFrom}, Tokens: []string{"alice"}},
		{Fields: []store.IndexField{store.FieldSubject}, Tokens: []string{"zurich"}},
		{Fields: TextFields, Tokens: []string{"repo"}, Prefix: true},
		{Fields: TextFields, Tokens: []string{"京"}, Prefix: true},
	}
	if len(q.Terms) != len(want) {
		t.Fatalf("terms %+v", q.Terms)
	}
	for i := range want {
		g, w := q.Terms[i], want[i]
		if !slices.Equal(g.Fields, w.Fields) || !slices.Equal(g.Tokens, w.Tokens) || g.Prefix != w.Prefix || g.Not != w.Not {
			t.Errorf("term %d: %+v, want %+v", i, g, w)
		}
	}
	q, err = Parse("meetings", true)
	if err != nil || len(q.Terms) != 1 || q.Terms[0].Tokens[0] != Stem("meeting") || q.Terms[0].Fields[0] != store.FieldStem {
		t.Fatalf("fuzzy: %+v %v", q, err)
	}
	for _, bad := range []string{"", "   ", "-only", `"" ()`, strings.Repeat("w ", 100), strings.Repeat("x", MaxQuery+1), `"` + strings.Repeat("w ", 40) + `"`} {
		if _, err := Parse(bad, false); !IsQueryError(err) {
			t.Errorf("Parse(%.30q): %v, want a query error", bad, err)
		}
	}
	// Syntax of other engines is text.
	q, err = Parse(`a AND (b OR c) NEAR/3 d^2 "e`, false)
	if err != nil || len(q.Terms) != 8 {
		t.Fatalf("engine syntax: %+v %v", q, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a "b c" -d from:e f*`, `"`, `-`, `:`, `subject:"x`, "東京 京", `{f_body} : "x" NEAR(a b)`, `'':* & !x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s, len(s)%2 == 0)
		if err != nil {
			if !IsQueryError(err) {
				t.Fatalf("not a query error: %v", err)
			}
			return
		}
		if len(q.Terms) == 0 || len(q.Terms) > store.MaxIndexTerms {
			t.Fatalf("%d terms", len(q.Terms))
		}
		for _, term := range q.Terms {
			if len(term.Tokens) == 0 || len(term.Tokens) > store.MaxPhraseLen {
				t.Fatalf("term of %d tokens", len(term.Tokens))
			}
			for _, tok := range term.Tokens {
				if tok == "" || len(tok) > store.MaxIndexToken || strings.ContainsAny(tok, " \"'*:(){}") {
					t.Fatalf("token %q", tok)
				}
			}
		}
	})
}
