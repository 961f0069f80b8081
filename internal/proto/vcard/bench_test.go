package vcard

import "testing"

func BenchmarkDecode(b *testing.B) {
	src := crlf(v4 + v3)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Decode(src, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	cards, err := Decode(crlf(v4+v3), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Marshal(cards...); err != nil {
			b.Fatal(err)
		}
	}
}
