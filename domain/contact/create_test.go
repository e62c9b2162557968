package contact

import (
	"strings"
	"testing"

	"contacts/domain"
)

func create(fields map[string]any) decision {
	return func(*Contact) ([]domain.Event, error) {
		return Create(CreateInput{ID: cid, AccountID: acct, CreatedBy: user, NoteID: "note-1", Fields: fields})
	}
}

func TestCreate(t *testing.T) {
	full := map[string]any{
		"identifier": " crm-1 ", "first_name": "Ada", "last_name": "Lovelace",
		"title": "Countess", "seniority": "c_suite", "departments": []any{"Math", " Eng ", "Math", ""},
		"email": "ada@EXAMPLE.com", "email_status": "Valid", "secondary_email": "a@b.io",
		"phone": "+1 (415) 555-0100", "mobile_phone": "0044 20 7946 0958", "language_code": "en-GB",
		"avatar_url": "https://x.io/a.png", "address_line": "1 St", "street": "St", "city": "London",
		"state": "Greater London", "postcode": "N1", "country": "UK", "text_search": "1 St London",
		"company_id": strings.ToUpper(companyX), "opt_out": true, "opt_out_marketing": true,
		"reply_bot_enabled": false, "blocked": true, "last_activity_at": "2024-01-02T03:04:05+01:00",
		"additional_attributes": map[string]any{"source": "import", "gone": nil},
		"labels":                []any{"vip", "Lead", "VIP"},
		"custom_attributes":     map[string]any{"plan": "pro", "seats": 3.0, "none": nil},
	}
	fullProfile := Profile{
		Identifier: "crm-1", FirstName: "Ada", LastName: "Lovelace", Title: "Countess", Seniority: "c_suite",
		Departments: []string{"Math", "Eng"}, Email: "ada@example.com", EmailStatus: "valid",
		SecondaryEmail: "a@b.io", Phone: "+14155550100", MobilePhone: "+442079460958", LanguageCode: "en-GB",
		AvatarURL: "https://x.io/a.png", AddressLine: "1 St", Street: "St", City: "London", Region: "Greater London",
		Postcode: "N1", Country: "UK", TextSearch: "1 St London", CompanyID: companyX, OptOut: true,
		OptOutMarketing: true, ReplyBotEnabled: false, Blocked: true, LastActivityAt: "2024-01-02T02:04:05Z",
		AdditionalAttributes: map[string]any{"source": "import"},
	}
	withLabels := func(e ContactCreated, labels ...string) ContactCreated { e.Labels = labels; return e }
	run(t, []tcase{
		{name: "full profile", when: create(full), want: []domain.Event{ContactCreated{
			ID: cid, AccountID: acct, CreatedBy: user, Profile: fullProfile,
			Labels: []string{"Lead", "vip"}, CustomAttributes: map[string]any{"plan": "pro", "seats": 3.0},
		}}},
		{name: "reply bot defaults to true", when: create(map[string]any{"email": "a@b.io"}), want: []domain.Event{
			createdWith(cid, acct, Profile{Email: "a@b.io", ReplyBotEnabled: true}),
		}},
		{name: "null reply bot is the default", when: create(map[string]any{"email": "a@b.io", "reply_bot_enabled": nil}),
			want: []domain.Event{createdWith(cid, acct, Profile{Email: "a@b.io", ReplyBotEnabled: true})}},
		{name: "aliases", when: create(map[string]any{
			"phone_number": "+14155550100", "mobile_number": "+14155550101", "designation": "CTO",
			"primary_email": "x@y.io", "department": "Sales, Ops,,Sales", "tags": "a, b",
			"custom_fields": map[string]any{"k": "v"},
		}), want: []domain.Event{ContactCreated{ID: cid, AccountID: acct, CreatedBy: user, Profile: Profile{
			Phone: "+14155550100", MobilePhone: "+14155550101", Title: "CTO", Email: "x@y.io",
			Departments: []string{"Sales", "Ops"}, ReplyBotEnabled: true,
		}, Labels: []string{"a", "b"}, CustomAttributes: map[string]any{"k": "v"}}}},
		{name: "alias and canonical agree", when: create(map[string]any{"phone": "+14155550100", "phone_number": "+14155550100"}),
			want: []domain.Event{createdWith(cid, acct, Profile{Phone: "+14155550100", ReplyBotEnabled: true})}},
		{name: "alias conflicting with canonical", when: create(map[string]any{"phone": "+14155550100", "phone_number": "+1 415 555 0100", "email": ""}),
			err: domain.ErrValidation, fields: []string{"phone_number"}},
		{name: "blank alias next to canonical is ignored", when: create(map[string]any{"phone": "+14155550100", "phone_number": ""}),
			want: []domain.Event{createdWith(cid, acct, Profile{Phone: "+14155550100", ReplyBotEnabled: true})}},
		{name: "name is split at the first white space", when: create(map[string]any{"name": "  Mary   Ann  Smith "}),
			want: []domain.Event{createdWith(cid, acct, Profile{FirstName: "Mary", LastName: "Ann  Smith", ReplyBotEnabled: true})}},
		{name: "single-word name", when: create(map[string]any{"name": "Cher"}),
			want: []domain.Event{createdWith(cid, acct, Profile{FirstName: "Cher", ReplyBotEnabled: true})}},
		{name: "explicit parts win over name", when: create(map[string]any{"name": "A B", "first_name": "C"}),
			want: []domain.Event{createdWith(cid, acct, Profile{FirstName: "C", ReplyBotEnabled: true})}},
		{name: "labels sorted", when: create(map[string]any{"email": "a@b.io", "labels": "b,A"}),
			want: []domain.Event{withLabels(createdWith(cid, acct, Profile{Email: "a@b.io", ReplyBotEnabled: true}), "A", "b")}},
		{name: "first note", when: create(map[string]any{"email": "a@b.io", "notes": "  met at a fair "}),
			want: []domain.Event{
				createdWith(cid, acct, Profile{Email: "a@b.io", ReplyBotEnabled: true}),
				NoteAdded{NoteID: "note-1", Content: "met at a fair", AuthorID: user},
			}},
		{name: "empty notes add nothing", when: create(map[string]any{"email": "a@b.io", "notes": ""}),
			want: []domain.Event{createdWith(cid, acct, Profile{Email: "a@b.io", ReplyBotEnabled: true})}},
		{name: "notes need a note id", when: func(*Contact) ([]domain.Event, error) {
			return Create(CreateInput{ID: cid, AccountID: acct, Fields: map[string]any{"email": "a@b.io", "notes": "x"}})
		}, err: domain.ErrValidation, fields: []string{"note_id"}},
		{name: "notes too long", when: create(map[string]any{"email": "a@b.io", "notes": strings.Repeat("x", 10001)}),
			err: domain.ErrValidation, fields: []string{"notes"}},
		{name: "needs an identity", when: create(map[string]any{"title": "CTO"}),
			err: domain.ErrValidation, fields: []string{"first_name"}},
		{name: "nil fields", when: create(nil), err: domain.ErrValidation, fields: []string{"first_name"}},
		{name: "cleared identity is no identity", when: create(map[string]any{"email": "", "first_name": nil}),
			err: domain.ErrValidation, fields: []string{"first_name"}},
		{name: "invalid identity is reported once", when: create(map[string]any{"email": "nope"}),
			err: domain.ErrValidation, fields: []string{"email"}},
		{name: "ids required", when: func(*Contact) ([]domain.Event, error) {
			return Create(CreateInput{Fields: map[string]any{"email": "a@b.io"}})
		}, err: domain.ErrValidation, fields: []string{"id", "account_id"}},
		{name: "all errors at once", when: create(map[string]any{
			"first_name": strings.Repeat("a", 51), "last_name": 3.0, "email": "x", "phone": "12",
			"mobile_number": "abc", "avatar_url": "ftp://x.io", "company_id": "123",
			"opt_out": "yes", "departments": 5.0, "labels": []any{"a", 1.0}, "bogus": 1.0, "id": "x",
			"language_code": "EN", "email_status": "great", "last_activity_at": "yesterday",
			"custom_attributes": "x", "text_search": strings.Repeat("t", 1001), "title": strings.Repeat("t", 256),
		}), err: domain.ErrValidation, fields: []string{
			"first_name", "last_name", "email", "phone", "mobile_number", "avatar_url", "company_id",
			"opt_out", "departments", "labels", "bogus", "id", "language_code", "email_status",
			"last_activity_at", "custom_attributes", "text_search", "title",
		}},
	})
}

func TestFieldValidation(t *testing.T) {
	ok := func(k string, v any) map[string]any { return map[string]any{"email": "a@b.io", k: v} }
	cases := []struct {
		field   string
		value   any
		problem string // substring; "" means valid
	}{
		{"first_name", strings.Repeat("é", 50), ""},
		{"first_name", strings.Repeat("é", 51), "at most 50"},
		{"last_name", strings.Repeat("x", 51), "at most 50"},
		{"name", "A " + strings.Repeat("x", 51), "at most 50"},
		{"first_name", 1.0, "must be a string"},
		{"title", true, "must be a string"},
		{"city", strings.Repeat("x", 256), "at most 255"},
		{"text_search", strings.Repeat("x", 1000), ""},
		{"opt_out", "true", "must be a boolean"},
		{"blocked", 1.0, "must be a boolean"},
		{"departments", []any{"a", true}, "must be a list of strings"},
		{"departments", map[string]any{}, "must be a list of strings"},
		{"department", "a,b", ""},
		{"labels", []any{"a,b"}, "commas"},
		{"labels", []any{""}, "empty"},
		{"labels", []any{strings.Repeat("x", 51)}, "at most 50"},
		{"tags", 5.0, "must be a list of strings"},
		{"email", "not-an-email", "valid e-mail"},
		{"email", "Jo <jo@x.io>", "valid e-mail"},
		{"secondary_email", "x@localhost", "valid e-mail"},
		{"phone_number", 1.0, "must be a string"},
		{"phone", "12345", "country code"},
		{"phone_number", "+1 415 CALL ME", "valid phone number"},
		{"mobile_phone", "+0123456789", "valid phone number"},
		{"phone", "(415) 555-0123", "default_phone_region"},
		{"mobile_phone", "+4155550123", "valid phone number"},
		{"avatar_url", "javascript:alert(1)", "http(s) URL"},
		{"avatar_url", "https://" + strings.Repeat("x", 2048) + ".io", "at most 2048"},
		{"avatar_url", "http://x.io/a b", "http(s) URL"},
		{"company_id", "6f1c2a9e3b4d4e5f8a9b0c1d2e3f4a5b", "UUID"},
		{"company_id", "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5g", "UUID"},
		{"language_code", "pt-BR", ""},
		{"language_code", "english", "language code"},
		{"email_status", "RISKY", ""},
		{"email_status", "maybe", "must be one of"},
		{"last_activity_at", "2024-01-02", "RFC 3339"},
		{"last_activity_at", 1700000000.0, "must be a string"},
		{"custom_attributes", []any{}, "must be an object"},
		{"custom_fields", map[string]any{strings.Repeat("k", 101): 1.0}, "keys"},
		{"additional_attributes", map[string]any{"": 1.0}, "keys"},
		{"notes", []any{"x"}, "must be a string"},
		{"created_at", "2024-01-02T03:04:05Z", "read-only"},
		{"assigned_to", []any{"u"}, "read-only"},
		{"whatever", "x", "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.field+"="+js(tc.value)[:min(20, len(js(tc.value)))], func(t *testing.T) {
			_, err := Create(CreateInput{ID: cid, AccountID: acct, NoteID: "n", Fields: ok(tc.field, tc.value)})
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			checkErr(t, err, domain.ErrValidation, tc.field)
			if p := err.(*domain.Error).Fields[tc.field]; !strings.Contains(p, tc.problem) {
				t.Fatalf("problem %q does not mention %q", p, tc.problem)
			}
		})
	}
}
