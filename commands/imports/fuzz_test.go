package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"contacts/internal/text"
)

// FuzzCSVRows runs the import's reading of a file — the header check, the
// mapping, each row's text check and mapping, the error record kept for a
// refused row — over arbitrary bytes (no database). Whatever the file: no
// panic, a header that breaks the text rule is refused, every value a row
// hands to the commands obeys the rule, and every error record is storable
// text (PostgreSQL refuses NUL and invalid UTF-8: that is what made jobs
// loop forever).
func FuzzCSVRows(f *testing.F) {
	for _, s := range []string{
		"first_name,email\nAda,ada@x.test\n",
		"first_name,email\nB\x00b,b@x.test\n",
		"first_name,city\nCy,Ber\xfflin\n",
		"\ufeffName,Phone Number,Tags,Groups,custom_fields.tier\nAda,'+14155550100,\"a, b\",g1|g2,gold\n",
		"email,opt_out\n\"unterminated,true\n",
		"a\x00,b\n1,2\n",
		"email\n'=HYPERLINK(\"x\")\n\xc3\n",
		"first_name,last_name\nonly-one\nthree,cells,here\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := newReader(bytes.NewReader(data))
		header, err := cr.Read()
		if err != nil {
			return // the upload refuses a file without a readable header
		}
		if _, err := badCell(header); err != nil {
			return // refused at upload (readHeader)
		}
		m, err := NewMapping(header)
		if err != nil {
			return
		}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var rowErr error
			if err != nil {
				rec = []string{}
			} else if _, rowErr = badCell(rec); rowErr != nil {
				rec = storable(rec)
			} else {
				row := m.Row(rec)
				_ = m.KeyValue(rec, "email", "")
				_ = m.KeyValue(rec, "phone", "US")
				if row.Err == nil {
					checkValues(t, row.Fields)
					for _, g := range row.Groups {
						if text.Check(g) != nil {
							t.Fatalf("group %q breaks the text rule", g)
						}
					}
				}
			}
			for _, v := range rec {
				if text.Check(v) != nil {
					t.Fatalf("an error record keeps %q", v)
				}
			}
			if _, err := json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func checkValues(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		if text.Check(x) != nil {
			t.Fatalf("a row value %q breaks the text rule", x)
		}
	case []any:
		for _, e := range x {
			checkValues(t, e)
		}
	case map[string]any:
		for k, e := range x {
			checkValues(t, k)
			checkValues(t, e)
		}
	}
}
