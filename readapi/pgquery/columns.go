package pgquery

import "contacts/readapi"

// attribute is a filterable attribute as SQL reads it: readapi's kind and
// its columns here.
type attribute struct {
	kind readapi.AttrKind
	cols []string // none for custom_attributes.<key> / additional_attributes.<key>
}

// lookupAttribute resolves an attribute key (readapi.LookupAttribute) to
// its columns.
func lookupAttribute(key string) (name string, a attribute, ok bool) {
	name, ra, ok := readapi.LookupAttribute(key)
	if !ok {
		return "", attribute{}, false
	}
	return name, attribute{kind: ra.Kind, cols: attrColumns[name]}, true
}

// attrColumns are the rm_contacts columns (alias c) of readapi's named
// attributes: the only column names that ever reach SQL. Text: the raw text
// columns (a match on any counts), compared through lower(); list: the
// lower-cased JSON text; number, date, bool: a typed expression.
var attrColumns = map[string][]string{
	"first_name":      {"c.first_name"},
	"last_name":       {"c.last_name"},
	"name":            {"c.name"}, // matched through first_name/last_name too (see nameMatch)
	"title":           {"c.title"},
	"company":         {"c.company_name"},
	"email":           {"c.email"},
	"email_status":    {"c.email_status"},
	"city":            {"c.city"},
	"state":           {"c.state"},
	"country":         {"c.country"},
	"postcode":        {"(c.doc ->> 'postcode')"},
	"seniority":       {"c.seniority"},
	"company_city":    {"c.company_city"},
	"company_state":   {"c.company_state"},
	"company_country": {"c.company_country"},
	"company_address": {"c.company_text_search"},
	"contact_address": {"c.text_search"},
	"phone":           {"c.phone", "(c.doc ->> 'mobile_phone')"},
	"identifier":      {"c.identifier"},
	"departments":     {"c.departments"},
	"industries":      {"c.company_industries"},
	"keywords":        {"c.company_keywords"},
	"technologies":    {"c.company_technologies"},
	"labels":          {"c.labels"},
	"groups":          {"c.group_names"},
	"employees":       {"c.company_employees"},
	"annual_revenue":  {"c.company_annual_revenue"},
	"created_at":      {"c.created_at"},
	"updated_at":      {"c.updated_at"},
	// The domain stores last_activity_at as an RFC 3339 string ("" when unset).
	"last_activity_at": {`(CASE WHEN c.doc ->> 'last_activity_at' ~ '^\d{4}-\d{2}-\d{2}T' THEN (c.doc ->> 'last_activity_at')::timestamptz END)`},
	"active":           {"c.active"},
	"opt_out":          {"coalesce((c.doc ->> 'opt_out')::boolean, false)"},
	"blocked":          {"coalesce((c.doc ->> 'blocked')::boolean, false)"},
}

// orderExprs are the SQL of the ordering fields: non-null expressions (an
// unknown number sorts as the lowest; text sorts case-insensitively) that
// match the ordering indexes of migration 0008 (and the created/updated
// ones of 0004).
var orderExprs = map[string]string{
	"first_name":     "coalesce(lower(c.first_name), '')",
	"last_name":      "coalesce(lower(c.last_name), '')",
	"name":           "coalesce(lower(c.name), '')",
	"title":          "coalesce(lower(c.title), '')",
	"company":        "coalesce(lower(c.company_name), '')",
	"email":          "coalesce(lower(c.email), '')",
	"city":           "coalesce(lower(c.city), '')",
	"state":          "coalesce(lower(c.state), '')",
	"country":        "coalesce(lower(c.country), '')",
	"seniority":      "coalesce(lower(c.seniority), '')",
	"created_at":     "c.created_at",
	"updated_at":     "c.updated_at",
	"employees":      "coalesce(c.company_employees, -1)",
	"annual_revenue": "coalesce(c.company_annual_revenue, '-Infinity'::float8)",
}
