// Package text is the service's one rule for text that crosses its edges
// (REST bodies and query strings, WebSocket messages, CSV cells): a string
// must be valid UTF-8 and must not contain NUL (U+0000). PostgreSQL cannot
// store either (SQLSTATE 22021 and 22P05), and encoding/json would silently
// turn invalid UTF-8 and unpaired surrogate escapes (`\ud800`) into U+FFFD,
// storing something the client never sent. So every transport checks its
// input with this package before decoding it, and refuses a violation as a
// validation error naming the field: a client's mistake never reaches the
// database as an internal error, and nothing is altered on the way in.
package text

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The two ways a string breaks the rule; their texts are the messages
// clients see next to the field's name.
var (
	ErrInvalidUTF8 = errors.New("must be valid UTF-8 text (no invalid bytes or unpaired surrogate escapes)")
	ErrNUL         = errors.New("must not contain the NUL character (U+0000)")
)

// Check applies the rule to one string: nil, ErrInvalidUTF8 or ErrNUL.
func Check(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	if strings.IndexByte(s, 0) >= 0 {
		return ErrNUL
	}
	return nil
}

// FieldError is a rule violation in a named field: a query parameter's
// name, or a JSON value's path ("first_name", "items[0].phone").
type FieldError struct {
	Field string
	Err   error // ErrInvalidUTF8 or ErrNUL
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// CheckValues applies the rule to every name and value of a query string
// (or form), reporting the first violation in name order.
func CheckValues(v url.Values) *FieldError {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := Check(k); err != nil {
			return &FieldError{Field: printable(k), Err: err}
		}
		for _, s := range v[k] {
			if err := Check(s); err != nil {
				return &FieldError{Field: k, Err: err}
			}
		}
	}
	return nil
}

// ErrTrailingData is a body or message with more than one JSON value
// (`{} {}`): encoding/json's Decoder would take the first and ignore the rest.
var ErrTrailingData = errors.New("unexpected data after the JSON value: send exactly one JSON document")

// SyntaxError is a document that is not JSON at all.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return e.Err.Error() }
func (e *SyntaxError) Unwrap() error { return e.Err }

// CheckJSON checks one JSON document: every string in it (object names
// included) obeys the rule, and nothing follows the document but
// whitespace. It returns nil, a *FieldError naming the offending value's
// path, ErrTrailingData, or a *SyntaxError. An empty document is nil:
// callers report a missing body their own way.
func CheckJSON(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	err := walk(raw, false)
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return err
	}
	// The strict decoder refuses invalid UTF-8 and unpaired surrogates as
	// syntax errors; one the lenient decoder accepts is such a text error.
	if lerr := walk(raw, true); lerr != nil {
		if errors.As(lerr, &se) {
			return &SyntaxError{Err: lerr}
		}
		return lerr
	}
	if e, ok := err.(*strictError); ok {
		return e.field
	}
	return &SyntaxError{Err: err}
}

// strictError carries the field of a strict-only syntax error.
type strictError struct {
	*jsontext.SyntacticError
	field *FieldError
}

func (e *strictError) Unwrap() error { return e.SyntacticError }

func walk(raw []byte, lenient bool) error {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(lenient))
	var kinds []jsontext.Kind // the open objects and arrays
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *jsontext.SyntacticError
			if errors.As(err, &se) && !lenient {
				return &strictError{SyntacticError: se, field: &FieldError{Field: fieldName(dec.StackPointer(), kinds), Err: ErrInvalidUTF8}}
			}
			return err
		}
		switch k := tok.Kind(); k {
		case '{', '[':
			kinds = append(kinds, k)
		case '}', ']':
			kinds = kinds[:len(kinds)-1]
		case '"':
			if !lenient && strings.IndexByte(tok.String(), 0) >= 0 {
				return &FieldError{Field: fieldName(dec.StackPointer(), kinds), Err: ErrNUL}
			}
		}
		if len(kinds) == 0 && dec.PeekKind() != 0 {
			return ErrTrailingData // a second top-level value
		}
	}
}

// fieldName spells a JSON pointer the way validation errors name fields:
// "items[0].phone" (kinds tells which levels are arrays).
func fieldName(p jsontext.Pointer, kinds []jsontext.Kind) string {
	var b strings.Builder
	i := 0
	for tok := range p.Tokens() {
		if i < len(kinds) && kinds[i] == '[' {
			b.WriteString("[" + tok + "]")
		} else {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(printable(tok))
		}
		i++
	}
	return b.String()
}

// printable makes a name that itself breaks the rule fit to show.
func printable(s string) string {
	if Check(s) == nil {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", `\u0000`), "\uFFFD")
}
