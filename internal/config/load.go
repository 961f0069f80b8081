package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key     string // the key at fault; "" for a syntax error with no key
	Message string
}

// ValidationError lists every problem found in one configuration.
type ValidationError struct {
	File     string // "" when the configuration did not come from a file
	Problems []Problem
}

// Error returns one line per problem: config: FILE: key "KEY": MESSAGE.
func (e *ValidationError) Error() string {
	prefix := "config: "
	if e.File != "" {
		prefix += e.File + ": "
	}
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		if p.Key != "" {
			fmt.Fprintf(&b, "key %q: ", p.Key)
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// problems collects Problems; bad remembers keys whose value could not be
// decoded, so that validation does not report them twice.
type problems struct {
	list []Problem
	bad  map[string]bool
}

func (p *problems) add(key, format string, args ...any) {
	p.list = append(p.list, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// ok reports whether none of keys already has a problem.
func (p *problems) ok(keys ...string) bool {
	for _, k := range keys {
		if p.bad[k] {
			return false
		}
	}
	return true
}

// Load reads the TOML file at path over the defaults and validates the
// result. An empty path returns [Default]. Every problem in the file is
// reported at once in a [*ValidationError]; an unreadable file is a plain
// error.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	p := &problems{bad: map[string]bool{}}
	if decode(c, string(data), p) {
		c.validate(p)
	}
	if len(p.list) > 0 {
		return nil, &ValidationError{File: path, Problems: p.list}
	}
	return c, nil
}

// Validate checks c as [Load] does and returns a [*ValidationError] listing
// every problem, or nil.
func (c *Config) Validate() error {
	p := &problems{bad: map[string]bool{}}
	c.validate(p)
	if len(p.list) > 0 {
		return &ValidationError{Problems: p.list}
	}
	return nil
}

// rawType is a struct with one field of type any per key, so that
// toml.Decode marks exactly the known keys as decoded and each value can be
// type-checked separately: a wrong type is then a problem of its key, not
// the end of decoding.
var rawType = func() reflect.Type {
	t := reflect.TypeFor[Config]()
	sfs := make([]reflect.StructField, t.NumField())
	for i := range sfs {
		sfs[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: reflect.TypeFor[any](),
			Tag:  reflect.StructTag(`toml:"` + t.Field(i).Tag.Get("toml") + `"`),
		}
	}
	return reflect.StructOf(sfs)
}()

// decode sets the keys defined in data on c, adding a problem for syntax
// errors, unknown keys and values of the wrong type. It reports whether the
// file parsed, so that the decoded keys are worth validating.
func decode(c *Config, data string, p *problems) bool {
	raw := reflect.New(rawType)
	md, err := toml.Decode(data, raw.Interface())
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.add(pe.LastKey, "line %d: %s%s", pe.Position.Line, pe.Message, syntaxHint(pe.Message))
		} else {
			p.add("", "%v", err)
		}
		return false
	}
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	var top []string // top-level keys in file order
	seen := map[string]bool{}
	for _, k := range md.Keys() {
		if !seen[k[0]] {
			seen[k[0]] = true
			top = append(top, k[0])
		}
	}
	// toml matches struct fields ignoring case, so "IMAP_LISTEN" fills the
	// field of imap_listen. Such a key is reported, and the field's decoded
	// value, which may come from either spelling, is not used.
	shadowed := map[string]bool{}
	for _, key := range top {
		if _, known := lookup(key); !known && !undecoded[toml.Key{key}.String()] {
			for _, f := range fields() {
				if strings.EqualFold(f.Key, key) {
					shadowed[f.Key] = true
					p.add(key, "unknown key; keys are lower case: did you mean %q?", f.Key)
					p.bad[f.Key] = true
				}
			}
		}
	}
	rc := reflect.ValueOf(c).Elem()
	for _, key := range top {
		f, known := lookup(key)
		switch {
		case undecoded[toml.Key{key}.String()]:
			if t := md.Type(key); t == "Hash" || t == "ArrayHash" {
				p.add(key, "unknown key; the configuration has no [sections], only key = value lines%s", suggest(key))
			} else {
				p.add(key, "unknown key%s", suggest(key))
			}
			continue
		case !known || shadowed[key]:
			continue
		}
		v := raw.Elem().Field(f.index).Interface()
		if msg := setValue(rc.Field(f.index), key, v); msg != "" {
			p.add(key, "%s", msg)
			p.bad[key] = true
		}
	}
	return true
}

// syntaxHint explains the TOML syntax errors that Kopano-style files cause.
func syntaxHint(msg string) string {
	if strings.Contains(msg, "expected value but found") ||
		strings.Contains(msg, "invalid datetime") ||
		strings.Contains(msg, "Invalid float value") {
		return ` (strings must be in quotes, e.g. key = "value"; booleans are true or false)`
	}
	return ""
}

// setValue stores the decoded TOML value v in dst, or returns why it cannot.
func setValue(dst reflect.Value, key string, v any) string {
	t := dst.Type()
	switch {
	case t == durationType:
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("want a duration in quotes such as \"90s\" or \"1h30m\", not %s", tomlTypeName(v))
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("invalid duration %q: want e.g. \"90s\" or \"1h30m\"", s)
		}
		dst.SetInt(int64(d))
	case t == stringsType:
		list, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("want a list of strings such as [\"a\", \"b\"], not %s", tomlTypeName(v))
		}
		out := make([]string, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Sprintf("item %d: want a string, not %s", i+1, tomlTypeName(e))
			}
			out[i] = s
		}
		dst.Set(reflect.ValueOf(out))
	case t == intsType:
		list, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("want a list of whole numbers such as [1001, 1002], not %s", tomlTypeName(v))
		}
		out := make([]int, len(list))
		for i, e := range list {
			n, ok := e.(int64)
			if !ok || int64(int(n)) != n {
				return fmt.Sprintf("item %d: want a whole number, not %s", i+1, tomlTypeName(e))
			}
			out[i] = int(n)
		}
		dst.Set(reflect.ValueOf(out))
	case t.Kind() == reflect.String:
		switch s := v.(type) {
		case string:
			dst.SetString(s)
		case int64:
			if !numericStrings[key] {
				return fmt.Sprintf("want a string in quotes, not %s", tomlTypeName(v))
			}
			dst.SetString(strconv.FormatInt(s, 10))
		default:
			return fmt.Sprintf("want a string in quotes, not %s", tomlTypeName(v))
		}
	case t.Kind() == reflect.Int:
		switch n := v.(type) {
		case int64:
			if dst.OverflowInt(n) {
				return fmt.Sprintf("%d is too large", n)
			}
			dst.SetInt(n)
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1e15 {
				return fmt.Sprintf("want a whole number without a decimal point, e.g. %d", int64(n))
			}
			return fmt.Sprintf("want a whole number, not %v", n)
		case string:
			return fmt.Sprintf("want a number without quotes, not the string %q", n)
		default:
			return fmt.Sprintf("want a whole number, not %s", tomlTypeName(v))
		}
	case t.Kind() == reflect.Bool:
		switch b := v.(type) {
		case bool:
			dst.SetBool(b)
		case string:
			return fmt.Sprintf("want true or false without quotes, not the string %q", b)
		default:
			return fmt.Sprintf("want true or false, not %s", tomlTypeName(v))
		}
	default:
		return fmt.Sprintf("unsupported type %s", t)
	}
	return ""
}

// numericStrings are the string keys that also take a bare integer:
// log_level, for Kopano's numeric levels (log_level = 3).
var numericStrings = map[string]bool{"log_level": true}

func tomlTypeName(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the number %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("a value of type %T", v)
}

// suggest returns `; did you mean "x"?` for the known key closest to key,
// or "" when none is close.
func suggest(key string) string {
	best, bestDist := "", math.MaxInt
	lk := strings.ToLower(key)
	for _, f := range fields() {
		d := editDistance(lk, f.Key)
		if d < bestDist {
			best, bestDist = f.Key, d
		}
	}
	limit := max(2, len(key)/4)
	if bestDist > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 200 || len(b) > 200 {
		return math.MaxInt // no key is that long; spare the quadratic work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
