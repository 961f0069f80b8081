package imap

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

func TestSeqSetParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want SeqSet
	}{
		{"1", SeqSet{Ranges: []SeqRange{{1, 1}}}},
		{"*", SeqSet{Ranges: []SeqRange{{0, 0}}}},
		{"1:*", SeqSet{Ranges: []SeqRange{{1, 0}}}},
		{"*:4", SeqSet{Ranges: []SeqRange{{0, 4}}}},
		{"2,4:7,9,12:*", SeqSet{Ranges: []SeqRange{{2, 2}, {4, 7}, {9, 9}, {12, 0}}}},
		{"4294967295", SeqSet{Ranges: []SeqRange{{4294967295, 4294967295}}}},
		{"$", SeqSet{Saved: true}},
	}
	for _, tc := range tests {
		got, err := ParseSeqSet(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
		if got.String() != tc.in {
			t.Errorf("%q: String %q", tc.in, got.String())
		}
	}
	for _, bad := range []string{"", "0", "1:0", "0:1", ",", "1,", ",1", "1,,2", "1:", ":1", "4294967296", "1:2:3", "a", "$,1", "1,$", "1 2", "-1", "**"} {
		if s, err := ParseSeqSet(bad); err == nil {
			t.Errorf("%q: accepted as %v", bad, s)
		}
	}
}

func TestSeqSetOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{5}, "5"},
		{[]uint32{1, 2, 3, 5}, "1:3,5"},
		{[]uint32{9, 3, 2, 1, 5, 5, 0, 4294967295, 4294967294}, "1:3,5,9,4294967294:4294967295"},
	}
	for _, tc := range tests {
		if got := SeqSetOf(tc.in...).String(); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSeqSetContainsAndAll(t *testing.T) {
	t.Parallel()
	s, _ := ParseSeqSet("2,4:7,9,12:*")
	tests := []struct {
		max  uint32
		want []uint32
	}{
		{0, nil},
		{3, []uint32{2, 3}}, // 12:* with * = 3 is 3:12, clipped to 3
		{10, []uint32{2, 4, 5, 6, 7, 9, 10}},
		{14, []uint32{2, 4, 5, 6, 7, 9, 12, 13, 14}},
	}
	for _, tc := range tests {
		got := slices.Collect(s.All(tc.max))
		if !slices.Equal(got, tc.want) {
			t.Errorf("max %d: All %v, want %v", tc.max, got, tc.want)
		}
		if c := s.Count(tc.max); c != len(tc.want) {
			t.Errorf("max %d: Count %d", tc.max, c)
		}
		for n := uint32(0); n <= tc.max+1; n++ {
			if s.Contains(n, tc.max) != slices.Contains(tc.want, n) {
				t.Errorf("max %d: Contains(%d) = %v", tc.max, n, s.Contains(n, tc.max))
			}
		}
	}
	// RFC 9051 §6.4.9: 559:* includes the last UID even if below 559.
	s, _ = ParseSeqSet("559:*")
	if !s.Contains(100, 100) || s.Contains(99, 100) {
		t.Error("559:* with max 100")
	}
	if got := fmt.Sprint(s.Normalize(100)); got != "100" {
		t.Errorf("Normalize %s", got)
	}
	// Overlaps merge; huge ranges are not expanded by Normalize or Count.
	s, _ = ParseSeqSet("5:1,3:8,10,9,1:4294967295")
	if got := s.Normalize(4294967295).String(); got != "1:4294967295" {
		t.Errorf("Normalize %s", got)
	}
	if c := s.Count(4294967295); c != 4294967295 {
		t.Errorf("Count %d", c)
	}
	if (SeqSet{Saved: true}).Contains(1, 10) {
		t.Error("Saved contains")
	}
}

func FuzzSeqSet(f *testing.F) {
	for _, s := range []string{"1", "*", "1:*", "2,4:7,9,12:*", "$", "4294967295:1", "5:3,1,2:2", "0", "1,,2"} {
		f.Add(s, uint32(10))
	}
	f.Fuzz(func(t *testing.T, in string, last uint32) {
		s, err := ParseSeqSet(in)
		if err != nil {
			return
		}
		out := s.String()
		s2, err := ParseSeqSet(out)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("%q → %q → %v, %v", in, out, s2, err)
		}
		last %= 2000
		n := s.Normalize(last)
		prev := uint32(0)
		for i, r := range n.Ranges {
			if r.Start == 0 || r.Start > r.Stop || r.Stop > last || (i > 0 && r.Start <= prev+1) {
				t.Fatalf("%q max %d: bad normal form %v", in, last, n)
			}
			prev = r.Stop
		}
		all := slices.Collect(s.All(last))
		if len(all) != s.Count(last) {
			t.Fatalf("Count %d, All %d", s.Count(last), len(all))
		}
		for v := uint32(1); v <= last; v++ {
			if s.Contains(v, last) != slices.Contains(all, v) {
				t.Fatalf("%q max %d: Contains(%d) disagrees with All", in, last, v)
			}
		}
		if got := SeqSetOf(all...); len(all) > 0 && !reflect.DeepEqual(got, n) {
			t.Fatalf("SeqSetOf(All) = %v, Normalize = %v", got, n)
		}
	})
}
