package contact

import (
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"contacts/domain"
)

// Profile is the contact's own data: what clients set through create and
// update. It is embedded in ContactCreated and State, so its fields appear
// flat in their JSON. The full name is derived (see State.Name).
type Profile struct {
	Identifier           string         `json:"identifier"`
	FirstName            string         `json:"first_name"`
	LastName             string         `json:"last_name"`
	Title                string         `json:"title"`
	Seniority            string         `json:"seniority"`
	Departments          []string       `json:"departments"`
	Email                string         `json:"email"`
	EmailStatus          string         `json:"email_status"`
	SecondaryEmail       string         `json:"secondary_email"`
	Phone                string         `json:"phone"`
	MobilePhone          string         `json:"mobile_phone"`
	LanguageCode         string         `json:"language_code"`
	AvatarURL            string         `json:"avatar_url"`
	AddressLine          string         `json:"address_line"`
	Street               string         `json:"street"`
	City                 string         `json:"city"`
	Region               string         `json:"state"` // state / province of the address
	Postcode             string         `json:"postcode"`
	Country              string         `json:"country"`
	TextSearch           string         `json:"text_search"`
	CompanyID            string         `json:"company_id"`
	OptOut               bool           `json:"opt_out"`
	OptOutMarketing      bool           `json:"opt_out_marketing"`
	ReplyBotEnabled      bool           `json:"reply_bot_enabled"`
	Blocked              bool           `json:"blocked"`
	LastActivityAt       string         `json:"last_activity_at"`
	AdditionalAttributes map[string]any `json:"additional_attributes"`
}

// Field names that are not profile fields but are read from the same input.
const (
	fieldName             = "name"
	fieldLabels           = "labels"
	fieldCustomAttributes = "custom_attributes"
	fieldNotes            = "notes"
	fieldAdditional       = "additional_attributes"
)

var languageCode = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

var (
	short     = domain.Field{Kind: domain.KindText, Max: 255}
	namePart  = domain.Field{Kind: domain.KindText, Max: 50}
	flag      = domain.Field{Kind: domain.KindBool}
	labelList = domain.Field{Kind: domain.KindList, Min: 1, Max: 50, NoCommas: true, Fold: true}
	attrMap   = domain.Field{Kind: domain.KindMap}
	noteText  = domain.Field{Kind: domain.KindText, Max: 10000}
)

// spec is the field table every input goes through.
var spec = domain.Spec{
	Fields: map[string]domain.Field{
		"identifier":      short,
		"first_name":      namePart,
		"last_name":       namePart,
		fieldName:         {Kind: domain.KindText, Max: 255},
		"title":           short,
		"seniority":       short,
		"departments":     {Kind: domain.KindList, Max: 255, MaxItems: 100},
		"email":           {Kind: domain.KindEmail},
		"email_status":    {Kind: domain.KindText, Enum: []string{"valid", "invalid", "unknown", "risky", "unverified"}},
		"secondary_email": {Kind: domain.KindEmail},
		"phone":           {Kind: domain.KindPhone},
		"mobile_phone":    {Kind: domain.KindPhone},
		"language_code": {Kind: domain.KindText, Max: 16, Check: func(s string) (string, string) {
			if !languageCode.MatchString(s) {
				return s, "must be a language code like en or pt-BR"
			}
			return s, ""
		}},
		"avatar_url":          {Kind: domain.KindURL, Max: 2048},
		"address_line":        short,
		"street":              short,
		"city":                short,
		"state":               short,
		"postcode":            short,
		"country":             short,
		"text_search":         {Kind: domain.KindText, Max: 1000},
		"company_id":          {Kind: domain.KindUUID},
		"opt_out":             flag,
		"opt_out_marketing":   flag,
		"reply_bot_enabled":   {Kind: domain.KindBool, Default: true},
		"blocked":             flag,
		"last_activity_at":    {Kind: domain.KindTime},
		fieldAdditional:       attrMap,
		fieldLabels:           labelList,
		fieldCustomAttributes: attrMap,
		fieldNotes:            noteText,
	},
	Aliases: map[string]string{
		"phone_number":  "phone",
		"mobile_number": "mobile_phone",
		"designation":   "title",
		"primary_email": "email",
		"department":    "departments",
		"tags":          fieldLabels,
		"custom_fields": fieldCustomAttributes,
	},
	Refused: readOnly("id", "account_id", "created_by", "created_at", "updated_at",
		"inactivated_at", "active", "deleted", "deleted_at", "merged_into", "version",
		"assigned_to", "teams", "associated_accounts"),
}

func readOnly(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = "is read-only"
	}
	return m
}

// attr reads and writes one profile field. get returns the canonical event
// value (string, bool, []string or map[string]any, nil when empty); set
// accepts that value or its JSON-decoded form.
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

func boolean(p func(*Profile) *bool) attr {
	return attr{
		get: func(x *Profile) any { return *p(x) },
		set: func(x *Profile, v any) { *p(x) = domain.ToBool(v) },
	}
}

func list(p func(*Profile) *[]string) attr {
	return attr{
		get: func(x *Profile) any { return domain.ToStrings(*p(x)) },
		set: func(x *Profile, v any) { *p(x) = domain.ToStrings(v) },
	}
}

func object(p func(*Profile) *map[string]any) attr {
	return attr{
		get: func(x *Profile) any { return domain.CloneMap(*p(x)) },
		set: func(x *Profile, v any) { *p(x) = domain.ToMap(v) },
	}
}

// attrs maps every profile field name to its accessor.
var attrs = map[string]attr{
	"identifier":        text(func(p *Profile) *string { return &p.Identifier }),
	"first_name":        text(func(p *Profile) *string { return &p.FirstName }),
	"last_name":         text(func(p *Profile) *string { return &p.LastName }),
	"title":             text(func(p *Profile) *string { return &p.Title }),
	"seniority":         text(func(p *Profile) *string { return &p.Seniority }),
	"departments":       list(func(p *Profile) *[]string { return &p.Departments }),
	"email":             text(func(p *Profile) *string { return &p.Email }),
	"email_status":      text(func(p *Profile) *string { return &p.EmailStatus }),
	"secondary_email":   text(func(p *Profile) *string { return &p.SecondaryEmail }),
	"phone":             text(func(p *Profile) *string { return &p.Phone }),
	"mobile_phone":      text(func(p *Profile) *string { return &p.MobilePhone }),
	"language_code":     text(func(p *Profile) *string { return &p.LanguageCode }),
	"avatar_url":        text(func(p *Profile) *string { return &p.AvatarURL }),
	"address_line":      text(func(p *Profile) *string { return &p.AddressLine }),
	"street":            text(func(p *Profile) *string { return &p.Street }),
	"city":              text(func(p *Profile) *string { return &p.City }),
	"state":             text(func(p *Profile) *string { return &p.Region }),
	"postcode":          text(func(p *Profile) *string { return &p.Postcode }),
	"country":           text(func(p *Profile) *string { return &p.Country }),
	"text_search":       text(func(p *Profile) *string { return &p.TextSearch }),
	"company_id":        text(func(p *Profile) *string { return &p.CompanyID }),
	"opt_out":           boolean(func(p *Profile) *bool { return &p.OptOut }),
	"opt_out_marketing": boolean(func(p *Profile) *bool { return &p.OptOutMarketing }),
	"reply_bot_enabled": boolean(func(p *Profile) *bool { return &p.ReplyBotEnabled }),
	"blocked":           boolean(func(p *Profile) *bool { return &p.Blocked }),
	"last_activity_at":  text(func(p *Profile) *string { return &p.LastActivityAt }),
	fieldAdditional:     object(func(p *Profile) *map[string]any { return &p.AdditionalAttributes }),
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
	p.Departments = domain.ToStrings(p.Departments)
	p.AdditionalAttributes = domain.CloneMap(p.AdditionalAttributes)
	return p
}

// identified tells whether the profile carries something to find the contact by.
func (p Profile) identified() bool {
	return p.FirstName != "" || p.LastName != "" || p.Email != "" || p.Phone != "" ||
		p.MobilePhone != "" || p.Identifier != ""
}

const needsIdentity = "a contact needs a name, e-mail, phone or identifier"

// gaveIdentity tells whether raw input carries a non-blank identifying
// field (valid or not: invalid ones get their own error).
func gaveIdentity(raw map[string]any) bool {
	for _, k := range []string{"first_name", "last_name", fieldName, "email", "primary_email",
		"phone", "phone_number", "mobile_phone", "mobile_number", "identifier"} {
		if v, ok := raw[k]; ok && v != nil {
			if s, isString := v.(string); !isString || strings.TrimSpace(s) != "" {
				return true
			}
		}
	}
	return false
}

// parse validates raw input. It resolves aliases and splits "name" into
// first_name/last_name when neither of those was given.
func parse(ctx domain.Context, raw map[string]any, create bool) (domain.Input, domain.Errors) {
	in, errs := spec.ParseIn(ctx, raw, create)
	if !in.Has(fieldName) {
		return in, errs
	}
	full := in.Values[fieldName].(string)
	key := in.Key(fieldName)
	delete(in.Values, fieldName)
	if in.Has("first_name") || in.Has("last_name") {
		return in, errs // explicit parts win over the full name
	}
	first, last := splitName(full)
	domain.CheckLength(errs, key, first, 0, 50)
	domain.CheckLength(errs, key, last, 0, 50)
	in.Values["first_name"], in.Keys["first_name"] = first, key
	in.Values["last_name"], in.Keys["last_name"] = last, key
	return in, errs
}

// splitName splits a full name at its first run of white space.
func splitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	i := strings.IndexFunc(full, unicode.IsSpace)
	if i < 0 {
		return full, ""
	}
	return full[:i], strings.TrimSpace(full[i:])
}

// fullName derives the display name.
func fullName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

// withoutNulls drops null-valued keys (nothing to remove on create); nil when empty.
func withoutNulls(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return domain.CloneMap(out)
}

// mergeMap applies a patch (null removes a key; a nil patch clears all).
func mergeMap(base, patch map[string]any) map[string]any {
	if patch == nil {
		return nil
	}
	out := domain.CloneMap(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return domain.CloneMap(out)
}

// attributeDiff splits a merge patch against current into the keys that get
// a new value and the present keys it removes (sorted).
func attributeDiff(current, patch map[string]any) (set map[string]any, removed []string) {
	set = map[string]any{}
	if patch == nil { // null clears everything
		return nil, domain.SortedKeys(current)
	}
	for _, k := range domain.SortedKeys(patch) {
		v := patch[k]
		old, present := current[k]
		switch {
		case v == nil && present:
			removed = append(removed, k)
		case v != nil && (!present || !reflect.DeepEqual(old, v)):
			set[k] = v
		}
	}
	return domain.CloneMap(set), removed
}
