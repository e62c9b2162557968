package text

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"unicode/utf8"
)

func TestCheckJSON(t *testing.T) {
	cases := []struct {
		in    string
		field string // "" with err == nil: accepted
		err   error
	}{
		{`{"first_name":"Ann"}`, "", nil},
		{`{"a":"\ud83d\ude00 \ufffd é"}`, "", nil}, // a pair, and U+FFFD sent as such, are text
		{`{"first_name":"a\u0000b"}`, "first_name", ErrNUL},
		{"{\"first_name\":\"a\xffb\"}", "first_name", ErrInvalidUTF8},
		{`{"first_name":"\ud800"}`, "first_name", ErrInvalidUTF8},
		{`{"first_name":"\udc00x"}`, "first_name", ErrInvalidUTF8},
		{`{"items":[{"phone":"1"},{"phone":"\u0000"}]}`, "items[1].phone", ErrNUL},
		{`{"data":{"custom":{"k\u0000":"v"}}}`, `data.custom.k\u0000`, ErrNUL},
		{`["x","\u0000"]`, "[1]", ErrNUL},
		{`"\u0000"`, "", ErrNUL},
		{`{"a":1}{"b":2}`, "", ErrTrailingData},
		{`{"a":1} null`, "", ErrTrailingData},
		{`{"a":1}` + " \n\t", "", nil},
		{``, "", nil},
	}
	for _, c := range cases {
		err := CheckJSON([]byte(c.in))
		var fe *FieldError
		switch {
		case c.err == nil && err != nil:
			t.Errorf("%q: %v, want accepted", c.in, err)
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("%q: %v, want %v", c.in, err, c.err)
		case errors.As(err, &fe) && fe.Field != c.field:
			t.Errorf("%q: field %q, want %q", c.in, fe.Field, c.field)
		}
	}
	for _, bad := range []string{`{"a":}`, `{"a":1`, `{"a" 1}`, `{"a":1} x`, "{\xff:1}"} {
		var se *SyntaxError
		if err := CheckJSON([]byte(bad)); !errors.As(err, &se) {
			t.Errorf("%q: %v, want a syntax error", bad, err)
		}
	}
}

func TestCheckValues(t *testing.T) {
	if fe := CheckValues(url.Values{"search": {"ok", "a\x00"}}); fe == nil || fe.Field != "search" || fe.Err != ErrNUL {
		t.Fatalf("NUL value: %v", fe)
	}
	if fe := CheckValues(url.Values{"city": {"\xc3"}}); fe == nil || fe.Field != "city" || fe.Err != ErrInvalidUTF8 {
		t.Fatalf("invalid UTF-8 value: %v", fe)
	}
	if fe := CheckValues(url.Values{"a\x00": {"x"}}); fe == nil || fe.Field != `a\u0000` {
		t.Fatalf("NUL name: %v", fe)
	}
	if fe := CheckValues(url.Values{"q": {"Zoë 🙂"}}); fe != nil {
		t.Fatalf("good text refused: %v", fe)
	}
}

// FuzzCheckJSON: whatever the input, CheckJSON does not panic, and a
// document it accepts decodes with encoding/json to strings that obey the
// rule, and the document is valid UTF-8.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"first_name":"a\u0000b"}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":[1,{"b":"x"}]}`,
		`{"a":1}{"b":2}`, `null`, `"\ud83d\ude00"`, `{"k\u0000":1}`, `[[[["deep"]]]]`, `{"n":-1.5e3,"t":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := CheckJSON(raw)
		if err != nil {
			return
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return // empty input: accepted by CheckJSON, refused by the caller
		}
		var visit func(any)
		visit = func(v any) {
			switch x := v.(type) {
			case string:
				if Check(x) != nil {
					t.Fatalf("accepted %q holding %q", raw, x)
				}
			case []any:
				for _, e := range x {
					visit(e)
				}
			case map[string]any:
				for k, e := range x {
					visit(k)
					visit(e)
				}
			}
		}
		visit(v)
		if !utf8.Valid(raw) {
			t.Fatalf("accepted invalid UTF-8 %q", raw)
		}
	})
}

func TestFormulaEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")", "+14155550100": "'+14155550100", "-2+3": "'-2+3",
		"@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx", "Ada": "Ada", "": "", "'quoted": "'quoted", "a=b": "a=b",
	} {
		got := EscapeFormula(in)
		if got != want {
			t.Errorf("EscapeFormula(%q) = %q, want %q", in, got, want)
		}
		if back := UnescapeFormula(got); back != in {
			t.Errorf("UnescapeFormula(%q) = %q, want %q", got, back, in)
		}
	}
}
