package readapi

import (
	"bytes"
	"encoding/json"
	"time"

	"contacts/projections"
)

// ContactResult is a contact as the API returns it (get_contact, and each
// list_contacts result):
//
//   - view "simple": uuid, first_name, last_name, title, company (the
//     company's name, null without one), email, email_status, created_at,
//     updated_at;
//   - otherwise (full): every field of the document, with company as the
//     company's NAME (null without one), company_id, the whole company as
//     company_details, departments as an array; the internal projection
//     position is left out.
//
// Times are RFC 3339 in UTC.
func ContactResult(doc projections.ContactDoc, view string) map[string]any {
	var company any
	if doc.Company != nil {
		company = doc.Company.Name
	}
	if view == ViewSimple {
		return map[string]any{
			"uuid":         doc.ID,
			"first_name":   doc.FirstName,
			"last_name":    doc.LastName,
			"title":        doc.Title,
			"company":      company,
			"email":        doc.Email,
			"email_status": doc.EmailStatus,
			"created_at":   formatTime(doc.CreatedAt),
			"updated_at":   formatTime(doc.UpdatedAt),
		}
	}
	b, err := json.Marshal(doc)
	m := map[string]any{}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		_ = dec.Decode(&m)
	}
	delete(m, "position")
	m["company_details"] = m["company"]
	m["company"] = company
	if m["company_details"] == nil {
		m["company_details"] = nil
	}
	if doc.Departments == nil {
		m["departments"] = []any{}
	}
	m["created_at"] = formatTime(doc.CreatedAt)
	m["updated_at"] = formatTime(doc.UpdatedAt)
	return m
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
