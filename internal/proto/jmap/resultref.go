package jmap

import (
	"encoding/json"
	"strconv"
	"strings"
)

// ResultReference points into the result of an earlier call (RFC 8620
// §3.7).
type ResultReference struct {
	ResultOf string `json:"resultOf"`
	Name     string `json:"name"`
	Path     string `json:"path"`
}

// ResolveArgs replaces every "#name" argument holding a ResultReference by
// "name" with the referenced value, evaluated against the responses of
// the calls made so far in the request (RFC 8620 §3.7). An argument given
// both plainly and as a reference is invalidArguments; a reference that
// cannot be evaluated is invalidResultReference. Since only earlier
// responses are searched, references cannot loop. At most MaxReferences
// arguments may be references, and each earlier response is decoded at
// most once, so the work is bounded by the responses' size, not by how
// often a request names them.
func ResolveArgs(args json.RawMessage, done []Invocation) (json.RawMessage, *MethodError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, Errorf(ErrInvalidArguments, "arguments are not an object")
	}
	refs := 0
	for k := range m {
		if strings.HasPrefix(k, "#") {
			refs++
		}
	}
	if refs > MaxReferences {
		return nil, Errorf(ErrInvalidArguments, "%d arguments are result references, at most %d may be", refs, MaxReferences)
	}
	docs := map[int]any{} // decoded earlier responses, by index in done
	changed := false
	for k, v := range m {
		if !strings.HasPrefix(k, "#") {
			continue
		}
		name := k[1:]
		if _, dup := m[name]; dup {
			return nil, Errorf(ErrInvalidArguments, "argument %q is given both plainly and as a result reference", name)
		}
		var ref ResultReference
		if err := json.Unmarshal(v, &ref); err != nil || ref.ResultOf == "" || ref.Name == "" {
			return nil, Errorf(ErrInvalidResultReference, "%s is not a ResultReference", k)
		}
		val, err := evalRef(ref, done, docs)
		if err != nil {
			return nil, err
		}
		delete(m, k)
		m[name] = val
		changed = true
	}
	if !changed {
		return args, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, Errorf(ErrInvalidResultReference, "cannot encode resolved arguments")
	}
	return b, nil
}

// MaxReferences bounds the result references in one call's arguments;
// no method has nearly as many arguments.
const MaxReferences = 16

func evalRef(ref ResultReference, done []Invocation, docs map[int]any) (json.RawMessage, *MethodError) {
	for i, r := range done {
		if r.CallID != ref.ResultOf {
			continue
		}
		// RFC 8620 §3.7: the first response with that call id; its name
		// must match.
		if r.Name != ref.Name {
			return nil, Errorf(ErrInvalidResultReference, "call %q answered %s, not %s", ref.ResultOf, r.Name, ref.Name)
		}
		doc, ok := docs[i]
		if !ok {
			if err := json.Unmarshal(r.Args, &doc); err != nil {
				return nil, Errorf(ErrInvalidResultReference, "result of %q is not JSON", ref.ResultOf)
			}
			docs[i] = doc
		}
		v, ok := Pointer(doc, ref.Path)
		if !ok {
			return nil, Errorf(ErrInvalidResultReference, "path %q does not resolve in the result of %q", ref.Path, ref.ResultOf)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, Errorf(ErrInvalidResultReference, "cannot encode the value at %q", ref.Path)
		}
		return b, nil
	}
	return nil, Errorf(ErrInvalidResultReference, "no earlier call with id %q", ref.ResultOf)
}

// Pointer evaluates a JSON pointer (RFC 6901) on a decoded JSON value
// with JMAP's extension (RFC 8620 §3.7): a "*" token on an array applies
// the rest of the path to every element and returns the results as an
// array, flattening results that are themselves arrays.
func Pointer(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	if path[0] != '/' {
		return nil, false
	}
	return walk(v, strings.Split(path[1:], "/"))
}

func walk(v any, tokens []string) (any, bool) {
	for i, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			if tok == "*" {
				out := []any{}
				for _, e := range x {
					r, ok := walk(e, tokens[i+1:])
					if !ok {
						return nil, false
					}
					if arr, isArr := r.([]any); isArr {
						out = append(out, arr...)
					} else {
						out = append(out, r)
					}
				}
				return out, true
			}
			if tok == "" || (len(tok) > 1 && tok[0] == '0') {
				return nil, false
			}
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(x) {
				return nil, false
			}
			v = x[n]
		default:
			return nil, false
		}
	}
	return v, true
}
