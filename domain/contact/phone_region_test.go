package contact

import (
	"testing"

	"contacts/domain"
)

// The default phone region is an input of the decision: national numbers
// are read in it, and refused (not misread) without it.
func TestPhoneRegion(t *testing.T) {
	createIn := func(region string, fields map[string]any) decision {
		return func(*Contact) ([]domain.Event, error) {
			return Create(CreateInput{ID: cid, AccountID: acct, CreatedBy: user, Fields: fields, PhoneRegion: region})
		}
	}
	updateIn := func(region string, fields map[string]any) decision {
		return func(c *Contact) ([]domain.Event, error) {
			return c.UpdateIn(domain.Context{PhoneRegion: region}, fields)
		}
	}
	run(t, []tcase{
		{name: "national number read in the region", when: createIn("US", map[string]any{
			"phone": "(415) 555-0123", "mobile_number": "415 555 0124"}),
			want: []domain.Event{createdWith(cid, acct, Profile{Phone: "+14155550123", MobilePhone: "+14155550124", ReplyBotEnabled: true})}},
		{name: "international number whatever the region", when: createIn("US", map[string]any{"phone": "+44 20 7946 0958"}),
			want: []domain.Event{createdWith(cid, acct, Profile{Phone: "+442079460958", ReplyBotEnabled: true})}},
		{name: "national number without a region", when: createIn("", map[string]any{"phone": "(415) 555-0123"}),
			err: domain.ErrValidation, fields: []string{"phone"}},
		{name: "invalid for the region, named by the client's key", when: createIn("US", map[string]any{"phone_number": "555-0123"}),
			err: domain.ErrValidation, fields: []string{"phone_number"}},
		{name: "update reads the region", given: []domain.Event{created()},
			when: updateIn("GB", map[string]any{"mobile_phone": "020 7946 0958"}),
			want: []domain.Event{ContactUpdated{Changes: map[string]domain.Change{"mobile_phone": {Old: "", New: "+442079460958"}}}}},
		{name: "update without a region refuses a national number", given: []domain.Event{created()},
			when: updateIn("", map[string]any{"mobile_phone": "020 7946 0958"}),
			err:  domain.ErrValidation, fields: []string{"mobile_phone"}},
	})
}
