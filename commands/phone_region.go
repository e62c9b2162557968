package commands

import (
	"context"

	"contacts/domain"
)

// PhoneRegions tells an account's default phone region: its
// default_phone_region setting, "" when it has none.
type PhoneRegions interface {
	DefaultPhoneRegion(ctx context.Context, accountID string) (string, error)
}

// WithPhoneRegions makes national phone numbers readable in each account's
// default region. Without it, and for accounts without the setting, phone
// numbers must be international ("+" and the country code).
func WithPhoneRegions(r PhoneRegions) Option { return func(h *Handlers) { h.regions = r } }

// PhoneRegion returns the region national phone numbers are read in: the
// one given with the request or import (validated), else the account's
// default, else "" (national numbers are refused). Every path that writes
// phone numbers resolves it here, so all of them read a number the same way.
func (h *Handlers) PhoneRegion(ctx context.Context, accountID, given string) (string, error) {
	if given != "" {
		r, err := domain.NormalizePhoneRegion(given)
		if err != nil {
			return "", err
		}
		return r, nil
	}
	if h.regions == nil {
		return "", nil
	}
	r, err := h.regions.DefaultPhoneRegion(ctx, accountID)
	if err != nil {
		return "", err
	}
	// A setting written before it was validated must not make every write fail.
	if r, err = domain.NormalizePhoneRegion(r); err != nil {
		return "", nil
	}
	return r, nil
}
