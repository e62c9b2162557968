package company

import (
	"strings"

	"contacts/domain"
)

// Profile is a company's own data; embedded in CompanyCreated and State.
type Profile struct {
	Name          string   `json:"name"`
	Domain        string   `json:"domain"`
	Industries    []string `json:"industries"`
	Keywords      []string `json:"keywords"`
	Technologies  []string `json:"technologies"`
	Employees     *int64   `json:"employees"`      // null: unknown
	AnnualRevenue *float64 `json:"annual_revenue"` // null: unknown
	AddressLine   string   `json:"address_line"`
	City          string   `json:"city"`
	Region        string   `json:"state"` // state / province of the address
	Postcode      string   `json:"postcode"`
	Country       string   `json:"country"`
	TextSearch    string   `json:"text_search"`
	Phone         string   `json:"phone"`
	Website       string   `json:"website"`
}

var (
	short = domain.Field{Kind: domain.KindText, Max: 255}
	list  = domain.Field{Kind: domain.KindList, Max: 255, MaxItems: 1000}
)

var spec = domain.Spec{
	Fields: map[string]domain.Field{
		"name":           {Kind: domain.KindText, Required: true, Min: 1, Max: 255},
		"domain":         {Kind: domain.KindText, Max: 255, Lower: true, Check: checkDomain},
		"industries":     list,
		"keywords":       list,
		"technologies":   list,
		"employees":      {Kind: domain.KindInteger},
		"annual_revenue": {Kind: domain.KindNumber},
		"address_line":   short,
		"city":           short,
		"state":          short,
		"postcode":       short,
		"country":        short,
		"text_search":    {Kind: domain.KindText, Max: 1000},
		"phone":          {Kind: domain.KindPhone},
		"website":        {Kind: domain.KindURL, Max: 2048},
	},
	Refused: map[string]string{
		"id": "is read-only", "account_id": "is read-only", "created_by": "is read-only",
		"created_at": "is read-only", "updated_at": "is read-only", "deleted": "is read-only",
		"deleted_at": "is read-only", "version": "is read-only",
	},
}

// checkDomain accepts "example.com" and also a pasted URL, keeping its host.
func checkDomain(s string) (string, string) {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") ||
		strings.ContainsAny(s, " \t@:") {
		return s, "must be a domain name like example.com"
	}
	return s, ""
}

// attr reads and writes one profile field; get returns the canonical event
// value (string, []string, int64, float64; nil when empty list or unknown number).
type attr struct {
	get func(*Profile) any
	set func(*Profile, any)
}

func text(p func(*Profile) *string) attr {
	return attr{
		get: func(x *Profile) any { return *p(x) },
		set: func(x *Profile, v any) { *p(x) = domain.ToString(v) },
	}
}

func textList(p func(*Profile) *[]string) attr {
	return attr{
		get: func(x *Profile) any { return domain.ToStrings(*p(x)) },
		set: func(x *Profile, v any) { *p(x) = domain.ToStrings(v) },
	}
}

var attrs = map[string]attr{
	"name":         text(func(p *Profile) *string { return &p.Name }),
	"domain":       text(func(p *Profile) *string { return &p.Domain }),
	"industries":   textList(func(p *Profile) *[]string { return &p.Industries }),
	"keywords":     textList(func(p *Profile) *[]string { return &p.Keywords }),
	"technologies": textList(func(p *Profile) *[]string { return &p.Technologies }),
	"employees": {
		get: func(x *Profile) any { return domain.ToInt(x.Employees) },
		set: func(x *Profile, v any) {
			x.Employees = nil
			if n, ok := domain.ToInt(v).(int64); ok {
				x.Employees = &n
			}
		},
	},
	"annual_revenue": {
		get: func(x *Profile) any { return domain.ToNumber(x.AnnualRevenue) },
		set: func(x *Profile, v any) {
			x.AnnualRevenue = nil
			if n, ok := domain.ToNumber(v).(float64); ok {
				x.AnnualRevenue = &n
			}
		},
	},
	"address_line": text(func(p *Profile) *string { return &p.AddressLine }),
	"city":         text(func(p *Profile) *string { return &p.City }),
	"state":        text(func(p *Profile) *string { return &p.Region }),
	"postcode":     text(func(p *Profile) *string { return &p.Postcode }),
	"country":      text(func(p *Profile) *string { return &p.Country }),
	"text_search":  text(func(p *Profile) *string { return &p.TextSearch }),
	"phone":        text(func(p *Profile) *string { return &p.Phone }),
	"website":      text(func(p *Profile) *string { return &p.Website }),
}

// canonical returns v in the form a decision puts into events for field.
func canonical(field string, v any) any {
	a, ok := attrs[field]
	if !ok {
		return v
	}
	var p Profile
	a.set(&p, v)
	return a.get(&p)
}

// clone deep-copies a profile.
func (p Profile) clone() Profile {
	c := Profile{}
	for _, a := range attrs {
		a.set(&c, a.get(&p))
	}
	return c
}
