package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Field describes one configuration key, as read from the tags of [Config].
type Field struct {
	Key        string // TOML key, e.g. "imap_listen"
	Type       string // "string", "integer", "boolean", "list of strings" or "duration"
	Default    string // default written as a TOML value, e.g. `"info"`, `50`, `["all"]`
	Doc        string // one paragraph; text in single quotes is code
	Reloadable bool   // applied by a running server on SIGHUP
}

// field is a Field with what reflection needs.
type field struct {
	Field
	index int           // index in Config
	def   reflect.Value // parsed default
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	stringsType  = reflect.TypeFor[[]string]()
	intsType     = reflect.TypeFor[[]int]()
)

// fields parses the tags of Config once. A malformed tag is a programming
// error that every test catches, so it panics.
var fields = sync.OnceValue(func() []field {
	t := reflect.TypeFor[Config]()
	fs := make([]field, 0, t.NumField())
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		key := sf.Tag.Get("toml")
		if key == "" || seen[key] {
			panic(fmt.Sprintf("config: field %s: missing or duplicate toml tag %q", sf.Name, key))
		}
		seen[key] = true
		def, ok := sf.Tag.Lookup("default")
		if !ok {
			panic(fmt.Sprintf("config: field %s: no default tag", sf.Name))
		}
		doc := sf.Tag.Get("doc")
		if doc == "" {
			panic(fmt.Sprintf("config: field %s: no doc tag", sf.Name))
		}
		v, err := parseDefault(sf.Type, def)
		if err != nil {
			panic(fmt.Sprintf("config: field %s: default %q: %v", sf.Name, def, err))
		}
		fs = append(fs, field{
			Field: Field{
				Key:        key,
				Type:       typeName(sf.Type),
				Default:    tomlLiteral(v),
				Doc:        doc,
				Reloadable: sf.Tag.Get("reload") == "true",
			},
			index: i,
			def:   v,
		})
	}
	return fs
})

// fieldIndex maps each key to its position in fields().
var fieldIndex = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for i, f := range fields() {
		m[f.Key] = i
	}
	return m
})

// Fields returns every configuration key in the order of the reference.
func Fields() []Field {
	fs := fields()
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = f.Field
	}
	return out
}

// lookup returns the field of key.
func lookup(key string) (field, bool) {
	i, ok := fieldIndex()[key]
	if !ok {
		return field{}, false
	}
	return fields()[i], true
}

// fieldByKey returns the value of key in c; key must exist.
func fieldByKey(c *Config, key string) reflect.Value {
	f, ok := lookup(key)
	if !ok {
		panic("config: no key " + key)
	}
	return reflect.ValueOf(c).Elem().Field(f.index)
}

func applyDefaults(c *Config) {
	rv := reflect.ValueOf(c).Elem()
	for _, f := range fields() {
		rv.Field(f.index).Set(cloneValue(f.def))
	}
}

// parseDefault parses a default tag: lists are comma-separated, and an
// empty tag is an empty list.
func parseDefault(t reflect.Type, s string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	switch {
	case t == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return v, err
		}
		v.SetInt(int64(d))
	case t == stringsType:
		list := []string{}
		if s != "" {
			list = strings.Split(s, ",")
		}
		v.Set(reflect.ValueOf(list))
	case t == intsType:
		list := []int{}
		if s != "" {
			for _, e := range strings.Split(s, ",") {
				n, err := strconv.Atoi(e)
				if err != nil {
					return v, err
				}
				list = append(list, n)
			}
		}
		v.Set(reflect.ValueOf(list))
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return v, err
		}
		v.SetInt(int64(n))
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, err
		}
		v.SetBool(b)
	default:
		return v, fmt.Errorf("unsupported type %s", t)
	}
	return v, nil
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == stringsType:
		return "list of strings"
	case t == intsType:
		return "list of integers"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Int:
		return "integer"
	case t.Kind() == reflect.Bool:
		return "boolean"
	}
	return t.String()
}

// tomlLiteral writes v as a TOML value. Go's %q matches TOML basic strings
// for the printable text that defaults hold.
func tomlLiteral(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return strconv.Quote(time.Duration(v.Int()).String())
	case v.Type() == stringsType:
		list := v.Interface().([]string)
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case v.Type() == intsType:
		list := v.Interface().([]int)
		q := make([]string, len(list))
		for i, n := range list {
			q[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case v.Kind() == reflect.String:
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// cloneValue copies v so that the copy shares no backing array with it.
func cloneValue(v reflect.Value) reflect.Value {
	if v.Type() == stringsType {
		list := v.Interface().([]string)
		if list == nil {
			list = []string{}
		}
		return reflect.ValueOf(slices.Clone(list))
	}
	if v.Type() == intsType {
		list := v.Interface().([]int)
		if list == nil {
			list = []int{}
		}
		return reflect.ValueOf(slices.Clone(list))
	}
	return v
}

func equalValues(a, b reflect.Value) bool {
	if a.Type() == stringsType {
		return slices.Equal(a.Interface().([]string), b.Interface().([]string))
	}
	if a.Type() == intsType {
		return slices.Equal(a.Interface().([]int), b.Interface().([]int))
	}
	return a.Interface() == b.Interface()
}

func (c *Config) clone() *Config {
	n := *c
	rn, rc := reflect.ValueOf(&n).Elem(), reflect.ValueOf(c).Elem()
	for _, f := range fields() {
		rn.Field(f.index).Set(cloneValue(rc.Field(f.index)))
	}
	return &n
}

// Reload returns the configuration a running server switches to on SIGHUP:
// a copy of old with the reloadable keys taken from new. notReloaded lists,
// in reference order, the keys whose value differs between old and new but
// that only take effect after a restart; the caller logs them. Both configs
// must be valid (new comes from [Load]); neither is modified.
func Reload(old, new *Config) (applied *Config, notReloaded []string) {
	applied = old.clone()
	ra, rn := reflect.ValueOf(applied).Elem(), reflect.ValueOf(new).Elem()
	for _, f := range fields() {
		a, n := ra.Field(f.index), rn.Field(f.index)
		if equalValues(a, n) {
			continue
		}
		if f.Reloadable {
			a.Set(cloneValue(n))
		} else {
			notReloaded = append(notReloaded, f.Key)
		}
	}
	return applied, notReloaded
}
