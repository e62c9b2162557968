// Package readapi is the read side's query model: Service (the queries a
// read engine answers for one account), Query and its parsing (filters,
// search, ordering, pagination, keyset cursors), the advanced condition
// filter, field actions and their options, and the result shapes. It names
// the filterable attributes and ordering fields with their types only; each
// engine keeps its own columns (readapi/pgquery: columns.go).
//
// Where the rest lives:
//
//	readapi/pgquery   the Service and Lists over PostgreSQL (SQL, value sets, export query)
//	readapi/rest      REST reads and the OpenAPI document
//	readapi/ws        the contacts WebSocket protocol, subscriptions, the listen-only stream
//	readapi/realtime  the live-update hub
//
// The tests in this directory beyond the query model's (ws_*_test.go,
// live_*_test.go, rest_*_test.go, text_test.go) drive the whole read API
// through the real router (internal/web): they share one harness
// (ws_harness_test.go).
package readapi

import (
	"context"

	"contacts/projections"
)

// Field names a field action's field ("get_titles" → FieldTitle).
type Field string

// The 13 field actions' fields.
const (
	FieldTitle          Field = "title"
	FieldCompany        Field = "company"         // the company's name
	FieldIndustry       Field = "industry"        // company industries (a list)
	FieldKeyword        Field = "keyword"         // company keywords (a list)
	FieldTechnology     Field = "technology"      // company technologies (a list)
	FieldCompanyAddress Field = "company_address" // the company's text_search
	FieldContactAddress Field = "contact_address" // the contact's text_search
	FieldCity           Field = "city"            // the contact's
	FieldState          Field = "state"           // the contact's
	FieldCountry        Field = "country"         // the contact's
	FieldCompanyCity    Field = "company_city"    //
	FieldCompanyState   Field = "company_state"   //
	FieldCompanyCountry Field = "company_country" //
)

// fieldActions is the one table of the 13 field actions: the WebSocket
// actions of these names (readapi's ws handlers), the REST routes
// /api/v1/contacts/fields/<name without "get_"> and ParseField are all
// built from it.
var fieldActions = map[string]Field{
	"get_titles":            FieldTitle,
	"get_companies":         FieldCompany,
	"get_industries":        FieldIndustry,
	"get_keywords":          FieldKeyword,
	"get_technologies":      FieldTechnology,
	"get_company_addresses": FieldCompanyAddress,
	"get_contact_addresses": FieldContactAddress,
	"get_cities":            FieldCity,
	"get_states":            FieldState,
	"get_countries":         FieldCountry,
	"get_company_cities":    FieldCompanyCity,
	"get_company_states":    FieldCompanyState,
	"get_company_countries": FieldCompanyCountry,
}

// FieldActions returns the names of the 13 field actions ("get_titles", …).
func FieldActions() []string {
	out := make([]string, 0, len(fieldActions))
	for k := range fieldActions {
		out = append(out, k)
	}
	return out
}

// ParseField maps a field action ("get_titles") or a field name ("title")
// to its Field.
func ParseField(s string) (Field, bool) {
	if f, ok := fieldActions[s]; ok {
		return f, true
	}
	for _, f := range fieldActions {
		if f == Field(s) {
			return f, true
		}
	}
	return Field(s), false
}

// Page is one page of a contact list: next and previous are opaque cursors
// (nil at the ends).
type Page struct {
	Next     *string          `json:"next"`
	Previous *string          `json:"previous"`
	Results  []map[string]any `json:"results"`
}

// FieldOptions are a field action's own parameters.
type FieldOptions struct {
	Search    string // case-insensitive substring of the value
	Distinct  bool   // unique values only (compared case-insensitively, first spelling kept)
	Separated bool   // list fields: one value per element (and comma-separated text split)
	Limit     *int   // nil: all
	Offset    int
}

// Service runs queries for one account at a time: nothing of another
// account is ever read.
type Service interface {
	ListContacts(ctx context.Context, accountID string, q Query) (Page, error)
	GetContact(ctx context.Context, accountID, uuid string) (projections.ContactDoc, bool, error)
	CountContacts(ctx context.Context, accountID string, q Query) (int64, error)
	ContactUUIDs(ctx context.Context, accountID string, q Query) ([]string, error)
	FieldValues(ctx context.Context, accountID string, field Field, q Query, opt FieldOptions) ([]string, error)
}
