package readapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"contacts/domain"
	textrule "contacts/internal/text"
	"contacts/projections"
)

// ExportRequest is a parsed export: which contacts (the query model of
// POST /contacts/search, without a default page size) and which columns.
type ExportRequest struct {
	Query   Query
	Columns []string
}

// DefaultExportColumns are the columns of an export that names none.
var DefaultExportColumns = []string{
	"uuid", "identifier", "first_name", "last_name", "name", "email", "phone", "mobile_phone", "title", "seniority",
	"departments", "company", "company_id", "city", "state", "country", "labels", "groups", "custom_attributes",
	"opt_out", "blocked", "created_at", "updated_at",
}

// exportAliases are the other references' column names.
var exportAliases = map[string]string{
	"phone_number": "phone", "company_name": "company", "tags": "labels", "id": "uuid", "custom_fields": "custom_attributes",
	"designation": "title",
}

// exportable: the top-level fields of a contact result (full view).
var exportable = func() map[string]bool {
	m := map[string]bool{}
	for k := range ContactResult(projections.ContactDoc{}, ViewFull) {
		m[k] = true
	}
	return m
}()

// ParseExportRequest reads an export body: the filters and advanced filter
// of a search (Chatwoot's "payload" too), "columns" (or "column_names"),
// and Chatwoot's "label" (one label the contacts must carry).
func ParseExportRequest(v url.Values, body any) (ExportRequest, error) {
	req := ExportRequest{Columns: DefaultExportColumns}
	errs := domain.Errors{}
	if m, ok := body.(map[string]any); ok && !isConditionObject(m) {
		rest := make(map[string]any, len(m))
		for k, val := range m {
			rest[k] = val
		}
		for _, key := range []string{"columns", "column_names"} {
			raw, has := rest[key]
			if !has {
				continue
			}
			delete(rest, key)
			cols, ok := stringList(raw)
			if !ok || len(cols) == 0 {
				errs.Add(key, "must be a non-empty list of column names")
				continue
			}
			req.Columns = nil
			for _, c := range cols {
				c = strings.ToLower(strings.TrimSpace(c))
				if a, ok := exportAliases[c]; ok {
					c = a
				}
				top, _, _ := strings.Cut(c, ".")
				if !exportable[top] || top == "company_details" && c == top {
					errs.Add(key, fmt.Sprintf("unknown column %q", c))
					continue
				}
				req.Columns = append(req.Columns, c)
			}
		}
		if l, has := rest["label"]; has {
			delete(rest, "label")
			if _, dup := rest["labels"]; dup {
				errs.Add("label", "given with labels")
			} else {
				rest["labels"] = l
			}
		}
		body = rest
	}
	q, err := ParseSearchRequest(v, body)
	if err != nil {
		if de, ok := err.(*domain.Error); ok {
			for k, p := range de.Fields {
				errs.Add(k, p)
			}
		} else {
			return req, err
		}
	}
	if err := errs.Err(); err != nil {
		return req, err
	}
	req.Query = q
	return req, nil
}

func stringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case string:
		return strings.Split(x, ","), true
	}
	return nil, false
}

// ExportCSV streams every contact req matches, in its ordering (all of them
// unless the query sets a limit), as CSV: one header line of the columns,
// one line per contact. The rows come from one REPEATABLE READ, read-only
// transaction: the file is the read model as of one point in time, however
// long the download takes. start is called once, before the first byte,
// and returns where to write: errors before it (a bad query) can still be
// answered as errors.
func (s *PG) ExportCSV(ctx context.Context, accountID string, req ExportRequest, start func() io.Writer) error {
	if !domain.IsUUID(accountID) {
		return invalidAccount()
	}
	if err := checkCursor(req.Query); err != nil {
		return err
	}
	limit := -1
	if req.Query.limit != nil {
		limit = *req.Query.limit
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
		m := ContactResult(doc, ViewFull)
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
