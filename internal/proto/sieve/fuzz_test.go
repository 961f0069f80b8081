package sieve

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range seedScripts() {
		f.Add([]byte(s))
	}
	f.Add([]byte("if not not not true {}"))
	f.Add([]byte("require \"vacation\"; vacation text:\r\n..\r\n.\r\n;"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, Limits{MaxScriptBytes: 1 << 16})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		out := s.String()
		s2, err := Parse([]byte(out), Limits{MaxScriptBytes: 1 << 20})
		if err != nil {
			t.Fatalf("printed script does not parse: %v\n%s", err, out)
		}
		if s2.String() != out {
			t.Fatalf("round trip changed:\n%s\n---\n%s", out, s2.String())
		}
	})
}

func FuzzRun(f *testing.F) {
	for _, s := range seedScripts() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, Limits{MaxScriptBytes: 1 << 16})
		if err != nil {
			return
		}
		m := newMsg(t, msgRel)
		res, err := Run(s, m, Env{MaxSteps: 100000})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		keeps := 0
		for _, a := range res.Actions {
			if _, ok := a.(Keep); ok {
				keeps++
			}
		}
		if keeps > 1 {
			t.Fatalf("%d keeps in %v", keeps, res.Actions)
		}
	})
}
