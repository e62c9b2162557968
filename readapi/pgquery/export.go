package pgquery

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"contacts/domain"
	textrule "contacts/internal/text"
	"contacts/projections"
	"contacts/readapi"
)

// ExportCSV streams every contact req matches, in its ordering (all of them
// unless the query sets a limit), as CSV: one header line of the columns,
// one line per contact. The rows come from one REPEATABLE READ, read-only
// transaction: the file is the read model as of one point in time, however
// long the download takes. start is called once, before the first byte,
// and returns where to write: errors before it (a bad query) can still be
// answered as errors.
func (s *PG) ExportCSV(ctx context.Context, accountID string, req readapi.ExportRequest, start func() io.Writer) error {
	if !domain.IsUUID(accountID) {
		return invalidAccount()
	}
	if err := readapi.CheckCursor(req.Query); err != nil {
		return err
	}
	limit := -1
	if l, ok := req.Query.Limit(); ok {
		limit = l
	}
	sql, args, _, _ := contactsSQL(accountID, req.Query, limit, true, nil)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("readapi: export: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, sql, append([]any{execMode}, args...)...)
	if err != nil {
		return fmt.Errorf("readapi: export: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(start())
	if err := cw.Write(req.Columns); err != nil {
		return err
	}
	line := make([]string, len(req.Columns))
	n := 0
	for rows.Next() {
		vals := rows.RawValues() // uuid, doc, ordering values
		var doc projections.ContactDoc
		if err := json.Unmarshal(vals[1], &doc); err != nil {
			return fmt.Errorf("readapi: export: %w", err)
		}
		m := readapi.ContactResult(doc, readapi.ViewFull)
		for i, c := range req.Columns {
			line[i] = cell(lookup(m, c))
		}
		if err := cw.Write(line); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("readapi: export: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// lookup reads a column: a field, or a dotted path into an object field
// (custom_attributes.tier, company_details.name).
func lookup(m map[string]any, col string) any {
	top, rest, dotted := strings.Cut(col, ".")
	v := m[top]
	if !dotted {
		return v
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return obj[rest]
}

// cell formats a value for CSV: lists of strings (and groups, by name)
// joined with ", ", objects and other lists as JSON, null as empty. Text
// that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
// prefixed with a single quote (OWASP; internal/text.EscapeFormula); numbers
// and booleans are written as they are.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return textrule.EscapeFormula(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if ref, isRef := e.(map[string]any); isRef && !ok {
				s, ok = ref["name"].(string) // groups: their names
			}
			if !ok {
				b, _ := json.Marshal(x)
				return string(b)
			}
			parts = append(parts, s)
		}
		return textrule.EscapeFormula(strings.Join(parts, ", "))
	case []string:
		return textrule.EscapeFormula(strings.Join(x, ", "))
	case map[string]any:
		if len(x) == 0 {
			return ""
		}
		b, _ := json.Marshal(x) // encoding/json sorts the keys
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
