package commands

import (
	"context"
	"fmt"

	"contacts/domain"
	"contacts/eventstore"
)

// MaxBulkContacts bounds one bulk upsert request.
const MaxBulkContacts = 50_000

// CodeBulkLimit is the error code of a bulk request over MaxBulkContacts.
const CodeBulkLimit = "bulk_limit_exceeded"

// BulkUpsertContacts creates or updates up to MaxBulkContacts contacts,
// matched by phone (required on every contact). Labels are merged into an
// existing contact's, custom attributes merged, groups named in Groups are
// created when missing. When several contacts carry the same phone the last
// one wins and the earlier ones are skipped. Each contact is applied whole
// or not at all; the request commits in chunks of 5,000 contacts, so a
// request cut short by an infrastructure failure may have applied its
// first chunks (sending it again is safe: it upserts).
type BulkUpsertContacts struct {
	AccountID string
	ActorID   string
	Contacts  []UpsertRow
	// PhoneRegion: the country of phone numbers given without a country
	// code; "" uses the account's default_phone_region.
	PhoneRegion string
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
	if err := checkBulkSize(len(cmd.Contacts)); err != nil {
		return BulkUpsertResult{}, err
	}
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return BulkUpsertResult{}, err
	}
	rows, superseded := bulkRows(cmd.Contacts, region)
	results, err := h.upsertChunks(ctx, cmd.AccountID, cmd.ActorID, region, rows)
	if err != nil {
		return BulkUpsertResult{}, err
	}
	return bulkResult(cmd.Contacts, results, superseded), nil
}

// checkBulkSize: a request has 1 to MaxBulkContacts contacts.
func checkBulkSize(n int) error {
	if n > MaxBulkContacts {
		return &domain.Error{Code: CodeBulkLimit, Err: domain.ErrValidation,
			Message: fmt.Sprintf("at most %d contacts per request; this one has %d", MaxBulkContacts, n),
			Fields:  map[string]string{"contacts": fmt.Sprintf("must have at most %d items", MaxBulkContacts)}}
	}
	if n == 0 {
		return domain.InvalidField("contacts", "must have at least 1 item")
	}
	return nil
}

// bulkRows are the contacts as upsert rows keyed by phone: a row without a
// phone is rejected, and of the rows with the same phone only the last one
// counts (superseded marks the others, which are skipped).
func bulkRows(contacts []UpsertRow, region string) (rows []UpsertRow, superseded []bool) {
	rows = make([]UpsertRow, len(contacts))
	last := map[string]int{} // phone → index of its last row
	superseded = make([]bool, len(rows))
	for i, r := range contacts {
		rows[i] = r
		if r.Err != nil {
			continue
		}
		phone := UpsertKeyValue("phone", r.Fields, region)
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
	return rows, superseded
}

// upsertChunks upserts rows in chunks of bulkChunk contacts, each one
// transaction: memory stays bounded, and the next chunk is decided while
// the previous one commits (a stale decision is made again, see retryPlan).
// The results are the rows', in order.
func (h *Handlers) upsertChunks(ctx context.Context, accountID, actorID, region string, rows []UpsertRow) ([]RowResult, error) {
	results := make([]RowResult, 0, len(rows))
	type planned struct {
		rows []UpsertRow
		plan *upsertPlan
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan planned, 1)
	go func() {
		defer close(next)
		for start := 0; start < len(rows); start += bulkChunk {
			chunk := rows[start:min(start+bulkChunk, len(rows))]
			p, err := h.planUpsert(ctx, accountID, actorID, "phone", region, chunk)
			select {
			case next <- planned{rows: chunk, plan: p, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	chunkCtx := ctx
	for p := range next {
		if p.err != nil {
			return nil, p.err
		}
		plan := p.plan
		err := retryPlan(ctx, func() error {
			if plan == nil {
				var err error
				if plan, err = h.planUpsert(ctx, accountID, actorID, "phone", region, p.rows); err != nil {
					return err
				}
			}
			current := plan
			plan = nil
			if err := h.commitPlan(chunkCtx, current); err != nil {
				return err
			}
			if current.changes() {
				// An Idempotency-Key is recorded with the first chunk that
				// appends; the later chunks are the same request.
				chunkCtx = withoutIdempotencyKey(chunkCtx)
			}
			results = append(results, current.results...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// bulkResult counts the rows' results; the errors name each row by its
// index and phone.
func bulkResult(contacts []UpsertRow, results []RowResult, superseded []bool) BulkUpsertResult {
	out := BulkUpsertResult{Errors: []BulkRowError{}}
	for i, r := range results {
		switch {
		case superseded[i], r.Outcome == OutcomeUnchanged:
			out.Skipped++
		case r.Outcome == OutcomeCreated:
			out.Created++
		case r.Outcome == OutcomeUpdated:
			out.Updated++
		default:
			phone, _ := contacts[i].Fields["phone"].(string)
			out.Errors = append(out.Errors, BulkRowError{Index: i, Phone: phone, Err: r.Err})
		}
	}
	return out
}

// bulkChunk is the number of contacts a bulk upsert commits at once.
const bulkChunk = 5000

func withoutIdempotencyKey(ctx context.Context) context.Context {
	info := eventstore.RequestInfoFrom(ctx)
	if info.IdempotencyKey == "" {
		return ctx
	}
	info.IdempotencyKey, info.IdempotencyHash = "", ""
	return eventstore.WithRequestInfo(ctx, info)
}

var errSuperseded = domain.InvalidState("superseded by a later contact with the same phone")
