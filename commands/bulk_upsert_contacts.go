package commands

import (
	"context"
	"fmt"

	"contacts/domain"
)

// MaxBulkContacts bounds one bulk upsert request.
const MaxBulkContacts = 50_000

// CodeBulkLimit is the error code of a bulk request over MaxBulkContacts.
const CodeBulkLimit = "bulk_limit_exceeded"

// BulkUpsertContacts creates or updates up to MaxBulkContacts contacts,
// matched by phone (required on every contact). Labels are merged into an
// existing contact's, custom attributes merged, groups named in Groups are
// created when missing. When several contacts carry the same phone the last
// one wins and the earlier ones are skipped.
type BulkUpsertContacts struct {
	AccountID string
	ActorID   string
	Contacts  []UpsertRow
}

// BulkRowError is one contact the request could not apply.
type BulkRowError struct {
	Index int
	Phone string
	Err   error
}

// BulkUpsertResult counts what the request did.
type BulkUpsertResult struct {
	Created, Updated, Skipped int
	Errors                    []BulkRowError
}

func (h *Handlers) BulkUpsertContacts(ctx context.Context, cmd BulkUpsertContacts) (BulkUpsertResult, error) {
	var out BulkUpsertResult
	if n := len(cmd.Contacts); n > MaxBulkContacts {
		return out, &domain.Error{Code: CodeBulkLimit, Err: domain.ErrValidation,
			Message: fmt.Sprintf("at most %d contacts per request; this one has %d", MaxBulkContacts, n),
			Fields:  map[string]string{"contacts": fmt.Sprintf("must have at most %d items", MaxBulkContacts)}}
	}
	if len(cmd.Contacts) == 0 {
		return out, domain.InvalidField("contacts", "must have at least 1 item")
	}
	rows := make([]UpsertRow, len(cmd.Contacts))
	last := map[string]int{} // phone → index of its last row
	superseded := make([]bool, len(rows))
	for i, r := range cmd.Contacts {
		rows[i] = r
		if r.Err != nil {
			continue
		}
		phone := UpsertKeyValue("phone", r.Fields)
		if phone == "" {
			if raw, _ := r.Fields["phone"].(string); raw == "" {
				if raw2, _ := r.Fields["phone_number"].(string); raw2 == "" {
					rows[i].Err = domain.InvalidField("phone", "is required")
				}
			}
			continue // an invalid phone: the domain names the problem
		}
		if j, ok := last[phone]; ok {
			superseded[j] = true
			rows[j].Err = errSuperseded
		}
		last[phone] = i
	}
	err := retryPlan(ctx, func() error {
		plan, err := h.planUpsert(ctx, cmd.AccountID, cmd.ActorID, "phone", rows)
		if err != nil {
			return err
		}
		if err := h.commitPlan(ctx, plan); err != nil {
			return err
		}
		out = BulkUpsertResult{Errors: []BulkRowError{}}
		for i, r := range plan.results {
			switch {
			case superseded[i], r.Outcome == OutcomeUnchanged:
				out.Skipped++
			case r.Outcome == OutcomeCreated:
				out.Created++
			case r.Outcome == OutcomeUpdated:
				out.Updated++
			default:
				phone, _ := cmd.Contacts[i].Fields["phone"].(string)
				out.Errors = append(out.Errors, BulkRowError{Index: i, Phone: phone, Err: r.Err})
			}
		}
		return nil
	})
	return out, err
}

var errSuperseded = domain.InvalidState("superseded by a later contact with the same phone")
