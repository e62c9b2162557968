package company

import (
	"errors"
	"testing"

	"contacts/domain"
)

// A company's phone is read like a contact's: national numbers in the
// region given by the caller, refused without one.
func TestCompanyPhoneRegion(t *testing.T) {
	cases := []struct {
		region, phone, want string
		refused             bool
	}{
		{"US", "(415) 555-0123", "+14155550123", false},
		{"GB", "020 7946 0958", "+442079460958", false},
		{"", "+44 20 7946 0958", "+442079460958", false},
		{"", "(415) 555-0123", "", true},
		{"US", "555-0123", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.region+"/"+tc.phone, func(t *testing.T) {
			evs, err := Create(CreateInput{ID: coID, AccountID: acct, CreatedBy: user, PhoneRegion: tc.region,
				Fields: map[string]any{"name": "Acme", "phone": tc.phone}})
			if tc.refused {
				var de *domain.Error
				if !errors.As(err, &de) || de.Fields["phone"] == "" {
					t.Fatalf("want a validation error on phone, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := evs[0].(CompanyCreated).Phone; got != tc.want {
				t.Fatalf("phone %q, want %q", got, tc.want)
			}
			c := given(evs...)
			up, err := c.UpdateIn(domain.Context{PhoneRegion: "US"}, map[string]any{"phone": "(212) 555-0199"})
			if err != nil || up[0].(CompanyUpdated).Changes["phone"].New != "+12125550199" {
				t.Fatalf("update: %v %v", up, err)
			}
		})
	}
}
