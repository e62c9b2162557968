// Package imports runs CSV import jobs:
// uploads streamed to disk, a durable worker that resumes a job where a
// crash left it (each batch's checkpoint commits with the batch's events),
// per-row error records, and the REST/WebSocket-facing service. Its errors
// are domain errors (internal/apierr gives them statuses); it knows nothing
// of the read side (readapi aliases its Job and RowError).
package imports

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"contacts/commands"
	"contacts/domain"
	"contacts/domain/importjob"
	"contacts/internal/text"
)

// Column targets that are not contact fields.
const (
	targetGroups     = "groups"
	targetCompany    = "company_name"
	prefixCustom     = "custom_attributes."
	prefixAdditional = "additional_attributes."
)

// aliases maps a normalised header to the contact field it fills. Every
// reference's spelling is here (Chatwoot: name, phone_number, company_name,
// identifier; WAAPI: phone, tags, groups, custom_fields.*; the contacts
// WebSocket API: title, seniority, departments, address fields, …).
var aliases = map[string]string{
	"first_name": "first_name", "firstname": "first_name", "first": "first_name", "given_name": "first_name",
	"last_name": "last_name", "lastname": "last_name", "last": "last_name", "surname": "last_name", "family_name": "last_name",
	"name": "name", "full_name": "name", "fullname": "name", "contact_name": "name",
	"email": "email", "email_address": "email", "e_mail": "email", "primary_email": "email", "mail": "email",
	"secondary_email": "secondary_email",
	"email_status":    "email_status",
	"phone":           "phone", "phone_number": "phone", "telephone": "phone", "tel": "phone", "phone_no": "phone", "whatsapp": "phone",
	"mobile_phone": "mobile_phone", "mobile": "mobile_phone", "mobile_number": "mobile_phone", "cell": "mobile_phone", "cell_phone": "mobile_phone",
	"identifier": "identifier", "external_id": "identifier", "customer_id": "identifier",
	"company_name": targetCompany, "company": targetCompany, "organization": targetCompany, "organisation": targetCompany,
	"company_id": "company_id",
	"title":      "title", "job_title": "title", "designation": "title", "position": "title",
	"seniority":   "seniority",
	"departments": "departments", "department": "departments",
	"language_code": "language_code", "language": "language_code", "locale": "language_code",
	"avatar_url": "avatar_url", "avatar": "avatar_url",
	"address_line": "address_line", "address": "address_line",
	"street": "street",
	"city":   "city",
	"state":  "state", "region": "state", "province": "state",
	"postcode": "postcode", "zip": "postcode", "zip_code": "postcode", "zipcode": "postcode", "postal_code": "postcode",
	"country":           "country",
	"text_search":       "text_search",
	"opt_out":           "opt_out",
	"opt_out_marketing": "opt_out_marketing",
	"reply_bot_enabled": "reply_bot_enabled",
	"blocked":           "blocked",
	"last_activity_at":  "last_activity_at",
	"labels":            "labels", "tags": "labels", "label": "labels", "tag": "labels",
	"groups": targetGroups, "group": targetGroups,
	"notes": "notes", "note": "notes",
}

// prefixes of attribute columns ("custom_fields.tier").
var prefixes = map[string]string{
	"custom_attributes.": prefixCustom, "custom_attribute.": prefixCustom, "custom_fields.": prefixCustom,
	"custom_field.": prefixCustom, "cf.": prefixCustom,
	"additional_attributes.": prefixAdditional,
}

var booleans = map[string]bool{"opt_out": true, "opt_out_marketing": true, "reply_bot_enabled": true, "blocked": true}

// lists are split on commas, semicolons or pipes.
var lists = map[string]bool{"labels": true, "departments": true, targetGroups: true}

type column struct {
	index  int
	header string // as written
	target string // a contact field, targetGroups, targetCompany, or prefix+key
}

// Mapping says which contact field each CSV column fills.
type Mapping struct {
	Headers []string
	Unknown []string // headers that map to nothing (reported, ignored)
	cols    []column
}

func normalizeHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff") // a UTF-8 byte order mark before the first header
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.NewReplacer(" ", "_", "-", "_").Replace(h)
	return h
}

// NewMapping maps a header row. Headers are matched case-insensitively,
// spaces and dashes reading as underscores. With no phone column,
// mobile_phone is the phone (WAAPI and Chatwoot have one phone number).
// Two columns for one field, or no column for any field, are refused.
func NewMapping(headers []string) (Mapping, error) {
	m := Mapping{Headers: append([]string{}, headers...)}
	hasPhone := false
	for _, h := range headers {
		if aliases[normalizeHeader(h)] == "phone" {
			hasPhone = true
		}
	}
	used := map[string]string{}
	errs := domain.Errors{}
	for i, h := range headers {
		if !utf8.ValidString(h) {
			errs.Add("headers", fmt.Sprintf("column %d: the header is not valid UTF-8", i+1))
			continue
		}
		n := normalizeHeader(h)
		target, ok := aliases[n]
		if !ok {
			for p, to := range prefixes {
				if key, found := strings.CutPrefix(n, p); found && key != "" {
					target, ok = to+key, true // keys as identifiers: "Loyalty Tier" → loyalty_tier
					break
				}
			}
		}
		if !ok {
			if strings.TrimSpace(h) == "" {
				errs.Add("headers", fmt.Sprintf("column %d has no header", i+1))
				continue
			}
			m.Unknown = append(m.Unknown, h)
			continue
		}
		if target == "mobile_phone" && !hasPhone {
			target = "phone"
		}
		if prev, dup := used[target]; dup {
			errs.Add("headers", fmt.Sprintf("columns %q and %q both fill %s", prev, h, target))
			continue
		}
		used[target] = h
		m.cols = append(m.cols, column{index: i, header: h, target: target})
	}
	if len(errs) == 0 && len(m.cols) == 0 {
		errs.Add("headers", "no column matches a contact field (expected e.g. name, email, phone_number)")
	}
	if err := errs.Err(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// DefaultKey is the upsert key a job gets when none is chosen: the first of
// email, phone and identifier that the file has a column for, else none.
func (m Mapping) DefaultKey() string {
	for _, k := range []string{importjob.KeyEmail, importjob.KeyPhone, importjob.KeyIdentifier} {
		for _, c := range m.cols {
			if c.target == k {
				return k
			}
		}
	}
	return importjob.KeyNone
}

// HasColumn tells whether a column fills target.
func (m Mapping) HasColumn(target string) bool {
	for _, c := range m.cols {
		if c.target == target {
			return true
		}
	}
	return false
}

// Row turns a record into the upsert input. Empty cells are absent (an
// import never clears a field). A record of the wrong width, or with text
// that is not UTF-8, is an error the domain never sees.
func (m Mapping) Row(record []string) commands.UpsertRow {
	if len(record) != len(m.Headers) {
		return commands.UpsertRow{Err: rowError(fmt.Sprintf("the row has %d columns but the header has %d", len(record), len(m.Headers)))}
	}
	fields := map[string]any{}
	var groups []string
	for _, c := range m.cols {
		// A quote our export put before a formula character goes (see
		// text.EscapeFormula): an exported file imports back unchanged.
		v := text.UnescapeFormula(strings.TrimSpace(record[c.index]))
		if v == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return commands.UpsertRow{Err: rowError(fmt.Sprintf("column %q is not valid UTF-8 text", c.header))}
		}
		switch {
		case c.target == targetGroups:
			groups = splitList(v)
		case c.target == targetCompany:
			additional(fields)["company_name"] = v
		case strings.HasPrefix(c.target, prefixCustom):
			attrs(fields, "custom_attributes")[strings.TrimPrefix(c.target, prefixCustom)] = v
		case strings.HasPrefix(c.target, prefixAdditional):
			additional(fields)[strings.TrimPrefix(c.target, prefixAdditional)] = v
		case booleans[c.target]:
			fields[c.target] = parseBool(v)
		case lists[c.target]:
			items := splitList(v)
			out := make([]any, len(items))
			for i, s := range items {
				out[i] = s
			}
			fields[c.target] = out
		default:
			fields[c.target] = v
		}
	}
	return commands.UpsertRow{Fields: fields, Groups: groups}
}

// KeyValue is the canonical upsert key value of a record ("" when absent
// or invalid), without building the whole row; national phone numbers are
// read in region.
func (m Mapping) KeyValue(record []string, key, region string) string {
	if key == "" || len(record) != len(m.Headers) {
		return ""
	}
	for _, c := range m.cols {
		if c.target == key {
			return commands.UpsertKeyValue(key, map[string]any{key: text.UnescapeFormula(strings.TrimSpace(record[c.index]))}, region)
		}
	}
	return ""
}

func additional(fields map[string]any) map[string]any { return attrs(fields, "additional_attributes") }

func attrs(fields map[string]any, name string) map[string]any {
	m, ok := fields[name].(map[string]any)
	if !ok {
		m = map[string]any{}
		fields[name] = m
	}
	return m
}

func splitList(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '|' })
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseBool reads the usual spreadsheet spellings; anything else is passed
// on as text, which the domain refuses with its own message.
func parseBool(v string) any {
	switch strings.ToLower(v) {
	case "true", "yes", "y", "1", "t":
		return true
	case "false", "no", "n", "0", "f":
		return false
	}
	return v
}

// rowError is a problem with a row as a whole (not with one field).
func rowError(msg string) error {
	return &domain.Error{Code: domain.CodeValidation, Message: msg, Err: domain.ErrValidation}
}

// ErrorMessage is a row error as people read it: "email: is not a valid
// e-mail address; phone: …".
func ErrorMessage(err error) string {
	var de *domain.Error
	var taken *commands.UniqueValueTakenError
	switch {
	case asErr(err, &taken):
		return fmt.Sprintf("%s %q is already used by contact %s", taken.Field, taken.Value, taken.OwnerID)
	case asErr(err, &de) && len(de.Fields) > 0:
		keys := domain.SortedKeys(de.Fields)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + de.Fields[k]
		}
		return strings.Join(parts, "; ")
	case asErr(err, &de):
		return de.Message
	}
	return err.Error()
}
