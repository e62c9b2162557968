package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
)

// This file holds the field-table machinery the aggregate packages share: one
// validation path for raw JSON-decoded input (REST, WebSocket, CSV import),
// the old/new pair of update events and value coercion that makes an event
// decoded from JSON equal to the one a decision produced.

// Change is one field of an update event: the value before and after.
type Change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// Kind says how the raw JSON value of a field is read.
type Kind int

// Field kinds. Parsed values are: Text, Email, Phone, Time, URL, UUID ->
// string ("" clears); List -> []string (nil when empty); Bool -> bool;
// Map -> map[string]any (nil for null; keys with null values are kept so an
// update can remove them); Integer -> int64 or nil; Number -> float64 or nil.
const (
	KindText Kind = iota + 1
	KindList
	KindBool
	KindEmail
	KindPhone
	KindTime
	KindURL
	KindUUID
	KindMap
	KindInteger
	KindNumber
)

// Field describes one input field.
type Field struct {
	Kind     Kind
	Required bool // null or "" is refused; Parse(create=true) also refuses a missing key
	Min, Max int  // Text: length in characters; List: length of each item; URL: Max length
	MaxItems int  // List: at most this many items (0: no limit)
	Fold     bool // List: duplicates are found case-insensitively (first spelling kept)
	NoCommas bool // List: items given as a JSON list must not contain commas
	Lower    bool // Text: stored lower-case
	Enum     []string
	Default  any // value stored for null/"" (Text, Bool)
	// Check normalizes a non-empty trimmed Text value; a non-empty problem
	// is reported as the field's error.
	Check func(string) (value, problem string)
}

// Spec is a field table.
type Spec struct {
	Fields  map[string]Field
	Aliases map[string]string // alias -> canonical field name
	Refused map[string]string // known keys that cannot be set this way -> problem
}

// Context is what normalisation needs beyond the value itself, given by
// the caller so the domain stays deterministic.
type Context struct {
	// PhoneRegion: the ISO 3166 alpha-2 country of phone numbers written
	// without a country code ("" refuses them). See NormalizePhone.
	PhoneRegion string
}

// Input is validated input: canonical field name -> parsed value.
type Input struct {
	Values map[string]any
	Keys   map[string]string // canonical field name -> the key the client used
}

// Has tells whether the field was given.
func (in Input) Has(field string) bool {
	_, ok := in.Values[field]
	return ok
}

// Key returns the input key the client used for field (for error reports).
func (in Input) Key(field string) string {
	if k, ok := in.Keys[field]; ok {
		return k
	}
	return field
}

// Parse validates raw input against the table with no default phone region.
func (s Spec) Parse(raw map[string]any, create bool) (Input, Errors) {
	return s.ParseIn(Context{}, raw, create)
}

// ParseIn validates raw input against the table. Every problem is recorded in
// the returned Errors (keyed by the input key the client used) so the caller
// can add its own checks before calling Err. With create, required fields
// missing from the input are reported too.
func (s Spec) ParseIn(ctx Context, raw map[string]any, create bool) (Input, Errors) {
	errs := Errors{}
	in := Input{Values: map[string]any{}, Keys: map[string]string{}}
	type given struct {
		key string
		val any
	}
	groups := map[string][]given{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		canon := k
		if a, ok := s.Aliases[k]; ok {
			canon = a
		}
		if _, ok := s.Fields[canon]; !ok {
			if p, ok := s.Refused[k]; ok {
				errs.Add(k, p)
			} else {
				errs.Add(k, "unknown field")
			}
			continue
		}
		g := given{k, raw[k]}
		if k == canon { // the canonical spelling is preferred over aliases
			groups[canon] = append([]given{g}, groups[canon]...)
		} else {
			groups[canon] = append(groups[canon], g)
		}
	}
	for canon, gs := range groups {
		pick := gs[0]
		if len(gs) > 1 {
			var set []given
			for _, g := range gs {
				if !isBlank(g.val) {
					set = append(set, g)
				}
			}
			if len(set) > 0 {
				pick = set[0]
			}
			conflict := false
			for _, g := range set[min(1, len(set)):] {
				if !reflect.DeepEqual(g.val, pick.val) {
					conflict = true
				}
			}
			if conflict {
				for _, g := range gs {
					if g.key != canon {
						errs.Add(g.key, "conflicts with "+canon)
					}
				}
				continue
			}
		}
		if v, ok := s.Fields[canon].ParseIn(ctx, errs, pick.key, pick.val); ok {
			in.Values[canon] = v
			in.Keys[canon] = pick.key
		}
	}
	if create {
		for name, f := range s.Fields {
			if _, given := groups[name]; f.Required && !given {
				errs.Add(name, "is required")
			}
		}
	}
	return in, errs
}

func isBlank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// Parse validates one raw value given under key. Problems go to errs; ok is
// false when the value was refused.
func (f Field) Parse(errs Errors, key string, v any) (value any, ok bool) {
	return f.ParseIn(Context{}, errs, key, v)
}

// ParseIn is Parse with a normalisation context.
func (f Field) ParseIn(ctx Context, errs Errors, key string, v any) (value any, ok bool) {
	local := Errors{}
	value = f.parse(ctx, local, key, v)
	for k, p := range local {
		errs.Add(k, p)
	}
	return value, len(local) == 0
}

func (f Field) parse(ctx Context, errs Errors, key string, v any) any {
	switch f.Kind {
	case KindBool:
		switch b := v.(type) {
		case nil:
			if f.Default != nil {
				return f.Default
			}
			return false
		case bool:
			return b
		}
		errs.Add(key, "must be a boolean")
		return false
	case KindList:
		return f.parseList(errs, key, v)
	case KindMap:
		return parseMap(errs, key, v)
	case KindInteger, KindNumber:
		return f.parseNumber(errs, key, v)
	}
	s, ok := v.(string)
	if v != nil && !ok {
		errs.Add(key, "must be a string")
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		if f.Required {
			errs.Add(key, "is required")
		}
		if f.Default != nil {
			return f.Default
		}
		return ""
	}
	switch f.Kind {
	case KindEmail:
		n, err := NormalizeEmail(s)
		if err != nil {
			errs.Add(key, problemOf(err))
		}
		return n
	case KindPhone:
		n, err := NormalizePhone(s, ctx.PhoneRegion)
		if err != nil {
			errs.Add(key, problemOf(err))
		}
		return n
	case KindTime:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			errs.Add(key, "must be an RFC 3339 time, like 2024-01-31T09:00:00Z")
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	case KindURL:
		max := f.Max
		if max == 0 {
			max = 2048
		}
		CheckLength(errs, key, s, 0, max)
		if !IsHTTPURL(s) {
			errs.Add(key, "must be an http(s) URL")
		}
		return s
	case KindUUID:
		if !IsUUID(s) {
			errs.Add(key, "must be a UUID")
		}
		return strings.ToLower(s)
	}
	// KindText
	CheckLength(errs, key, s, f.Min, f.Max)
	if f.Lower || len(f.Enum) > 0 {
		s = strings.ToLower(s)
	}
	if len(f.Enum) > 0 {
		found := false
		for _, e := range f.Enum {
			found = found || e == s
		}
		if !found {
			errs.Add(key, "must be one of: "+strings.Join(f.Enum, ", "))
		}
	}
	if f.Check != nil {
		n, problem := f.Check(s)
		if problem != "" {
			errs.Add(key, problem)
		}
		s = n
	}
	return s
}

// problemOf extracts the human problem from a one-field *Error (the value
// helpers report under a fixed field name; callers re-key it).
func problemOf(err error) string {
	if e, ok := err.(*Error); ok {
		for _, p := range e.Fields {
			return p
		}
		return e.Message
	}
	return err.Error()
}

func (f Field) parseList(errs Errors, key string, v any) []string {
	var items []string
	fromString := false
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		items, fromString = strings.Split(x, ","), true
	case []string:
		items = x
	case []any:
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				errs.Add(key, "must be a list of strings")
				return nil
			}
			items = append(items, s)
		}
	default:
		errs.Add(key, "must be a list of strings")
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			if !fromString && f.Min > 0 {
				errs.Add(key, "must not contain empty items")
			}
			continue
		}
		if !fromString && f.NoCommas && strings.Contains(it, ",") {
			errs.Add(key, "items must not contain commas")
			continue
		}
		CheckLength(errs, key, it, 0, f.Max)
		k := it
		if f.Fold {
			k = strings.ToLower(it)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, it)
		}
	}
	if f.MaxItems > 0 && len(out) > f.MaxItems {
		errs.Add(key, fmt.Sprintf("must have at most %d items", f.MaxItems))
	}
	return out
}

func parseMap(errs Errors, key string, v any) map[string]any {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		errs.Add(key, "must be an object")
		return nil
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if n := len([]rune(k)); n < 1 || n > 100 || strings.TrimSpace(k) == "" {
			errs.Add(key, "keys must be 1 to 100 characters")
			continue
		}
		nv, ok := NormalizeJSON(val)
		if !ok {
			errs.Add(key, "values must be JSON values")
			continue
		}
		out[k] = nv
	}
	return out
}

func (f Field) parseNumber(errs Errors, key string, v any) any {
	if v == nil {
		return nil
	}
	n, ok := toFloat(v)
	if !ok {
		if f.Kind == KindInteger {
			errs.Add(key, "must be an integer")
		} else {
			errs.Add(key, "must be a number")
		}
		return nil
	}
	if n < 0 {
		errs.Add(key, "must not be negative")
		return nil
	}
	if f.Kind == KindNumber {
		return n
	}
	if n != math.Trunc(n) || n > 1<<53 {
		errs.Add(key, "must be an integer")
		return nil
	}
	return int64(n)
}

func toFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case float32:
		f = float64(n)
	case int:
		f = float64(n)
	case int32:
		f = float64(n)
	case int64:
		f = float64(n)
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return 0, false
		}
		f = x
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// NormalizeJSON returns v in the form encoding/json decodes it to (string,
// float64, bool, nil, []any, map[string]any), deep-copied; ok is false for
// values JSON cannot carry.
func NormalizeJSON(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool:
		return x, true
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			n, ok := NormalizeJSON(it)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	case []string:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = it
		}
		return out, true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			n, ok := NormalizeJSON(it)
			if !ok {
				return nil, false
			}
			out[k] = n
		}
		return out, true
	}
	return toFloat(v)
}

// IsUUID tells whether s has the 8-4-4-4-12 hexadecimal UUID form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// IsHTTPURL tells whether s is an absolute http or https URL with a host.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

// ToString coerces an event value to a string ("" for anything else).
func ToString(v any) string {
	s, _ := v.(string)
	return s
}

// ToStrings coerces an event value ([]string or decoded []any) to a fresh
// []string; nil when empty.
func ToStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			out = append(out, s)
		}
	case []any:
		for _, it := range x {
			if s, ok := it.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// ToBool coerces an event value to a bool (false for anything else).
func ToBool(v any) bool {
	b, _ := v.(bool)
	return b
}

// ToMap coerces an event value to a deep-copied JSON object; nil when empty.
func ToMap(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	n, _ := NormalizeJSON(m)
	return n.(map[string]any)
}

// ToInt coerces an event value (int64 or decoded float64) to int64 or nil.
func ToInt(v any) any {
	switch n := v.(type) {
	case int64:
		return n
	case *int64:
		if n == nil {
			return nil
		}
		return *n
	}
	if f, ok := toFloat(v); ok {
		return int64(f)
	}
	return nil
}

// ToNumber coerces an event value to float64 or nil.
func ToNumber(v any) any {
	if p, ok := v.(*float64); ok {
		if p == nil {
			return nil
		}
		return *p
	}
	if f, ok := toFloat(v); ok {
		return f
	}
	return nil
}

// CloneMap deep-copies a JSON object; nil when empty.
func CloneMap(m map[string]any) map[string]any {
	return ToMap(m)
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Deref turns a pointer to an event into the event value, so Apply accepts
// both forms.
func Deref(e Event) Event {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		if inner, ok := v.Elem().Interface().(Event); ok {
			return inner
		}
	}
	return e
}

// DecodeAs unmarshals data into a T and returns it as a value.
func DecodeAs[T Event](data []byte) (Event, error) {
	var e T
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.EventType(), err)
	}
	return e, nil
}

// ErrUnknownEvent: an event type this build does not know (written by a
// newer one). Readers skip it rather than stall.
var ErrUnknownEvent = errors.New("unknown event type")

// UnknownEvent is the error Decode functions return for a type they do not know.
func UnknownEvent(stream, eventType string) error {
	return fmt.Errorf("%s: %w %q", stream, ErrUnknownEvent, eventType)
}

// Unknown stands for an event of an unknown type: applying it only moves
// the aggregate's version on.
type Unknown struct{ Type string }

func (u Unknown) EventType() string { return u.Type }
