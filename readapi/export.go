package readapi

import (
	"fmt"
	"net/url"
	"strings"

	"contacts/domain"
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
