package imports

import (
	"fmt"
	"strings"
	"testing"
)

// Headers of every reference map case-insensitively, spaces and dashes
// reading as underscores; values become the contact input.
func TestMappingAliases(t *testing.T) {
	cases := []struct {
		header, cell, field string
		want                string // fmt of the value
	}{
		{"Name", "Grace Brewster Hopper", "name", "Grace Brewster Hopper"},
		{"First Name", "Ada", "first_name", "Ada"},
		{"last-name", "Lovelace", "last_name", "Lovelace"},
		{"EMAIL", "a@x.test", "email", "a@x.test"},
		{"Email Address", "a@x.test", "email", "a@x.test"},
		{"phone_number", "+1 415", "phone", "+1 415"},
		{"Phone", "+1 415", "phone", "+1 415"},
		{"mobile_phone", "+1 415", "phone", "+1 415"}, // no phone column: mobile is the phone
		{"identifier", "CUST001", "identifier", "CUST001"},
		{"external_id", "CUST001", "identifier", "CUST001"},
		{"company_name", "Acme", "additional_attributes", "map[company_name:Acme]"},
		{"Company", "Acme", "additional_attributes", "map[company_name:Acme]"},
		{"Job Title", "CTO", "title", "CTO"},
		{"designation", "CTO", "title", "CTO"},
		{"tags", "vip; newsletter |x", "labels", "[vip newsletter x]"},
		{"Labels", "a,b", "labels", "[a b]"},
		{"custom_fields.Loyalty Tier", "gold", "custom_attributes", "map[loyalty_tier:gold]"},
		{"custom_attributes.plan", "pro", "custom_attributes", "map[plan:pro]"},
		{"additional_attributes.source", "fair", "additional_attributes", "map[source:fair]"},
		{"Zip", "94107", "postcode", "94107"},
		{"Opt Out", "Yes", "opt_out", "true"},
		{"blocked", "0", "blocked", "false"},
		{"blocked", "perhaps", "blocked", "perhaps"}, // the domain refuses it
		{"departments", "eng, ops", "departments", "[eng ops]"},
		{"\ufeffemail", "a@x.test", "email", "a@x.test"}, // a byte order mark before the first header
	}
	for _, c := range cases {
		m, err := NewMapping([]string{c.header})
		if err != nil {
			t.Errorf("%q: %v", c.header, err)
			continue
		}
		r := m.Row([]string{c.cell})
		if r.Err != nil {
			t.Errorf("%q: %v", c.header, r.Err)
			continue
		}
		if got := fmt.Sprint(r.Fields[c.field]); got != c.want {
			t.Errorf("%q=%q: %s = %s, want %s (%v)", c.header, c.cell, c.field, got, c.want, r.Fields)
		}
	}
	m, err := NewMapping([]string{"phone", "mobile_phone", "groups", "Fax", "email"})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Row([]string{"+1", "+2", "VIP, Staff", "123", ""})
	if r.Fields["phone"] != "+1" || r.Fields["mobile_phone"] != "+2" || strings.Join(r.Groups, "|") != "VIP|Staff" {
		t.Fatalf("row: %+v", r)
	}
	if _, has := r.Fields["email"]; has {
		t.Fatal("an empty cell must be absent, not cleared")
	}
	if fmt.Sprint(m.Unknown) != "[Fax]" || m.DefaultKey() != "email" {
		t.Fatalf("unknown %v, key %q", m.Unknown, m.DefaultKey())
	}
	if k := m.KeyValue([]string{"", "", "", "", " Ada@X.Test "}, "email", ""); k != "ada@x.test" {
		t.Fatalf("key value %q", k)
	}
	for _, bad := range [][]string{{"email", "E-mail"}, {"", "email"}, {"foo"}, {"phone", "Phone Number"}} {
		if _, err := NewMapping(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if r := m.Row([]string{"+1"}); r.Err == nil || !strings.Contains(ErrorMessage(r.Err), "1 columns but the header has 5") {
		t.Errorf("short row: %v", r.Err)
	}
	if r := m.Row([]string{"+1", "", "", "", "\xff@x"}); r.Err == nil || !strings.Contains(ErrorMessage(r.Err), "UTF-8") {
		t.Errorf("bad UTF-8: %v", r.Err)
	}
}
