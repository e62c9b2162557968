package readapi

import "context"

// The read operations both transports answer the same way (the WebSocket's
// get_contact_uuids and field actions, GET /contacts/uuids and
// /contacts/fields/<field>): a result ready to encode, or the Service's
// (domain) error.

// ListContactUUIDs answers {count, uuids} (uuids never null).
func ListContactUUIDs(ctx context.Context, svc Service, accountID string, q Query) (map[string]any, error) {
	ids, err := svc.ContactUUIDs(ctx, accountID, q)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	return map[string]any{"count": len(ids), "uuids": ids}, nil
}

// ListFieldValues answers {results} (never null).
func ListFieldValues(ctx context.Context, svc Service, accountID string, field Field, q Query, opt FieldOptions) (map[string]any, error) {
	vals, err := svc.FieldValues(ctx, accountID, field, q, opt)
	if err != nil {
		return nil, err
	}
	if vals == nil {
		vals = []string{}
	}
	return map[string]any{"results": vals}, nil
}
