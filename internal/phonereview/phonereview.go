// Package phonereview flags stored phone numbers that were probably
// misread before phone numbers were parsed with a default region (issue
// #13: "(415) 555-0123" stored as +4155550123). It only reports: the
// contacts and companies are never rewritten by it; an administrator
// reviews the list and corrects what needs correcting with an ordinary
// update.
package phonereview

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/domain"
)

// Regions tells an account's default phone region ("" when unset).
type Regions interface {
	DefaultPhoneRegion(ctx context.Context, accountID string) (string, error)
}

// Service scans an account's stored numbers and lists what it flagged.
type Service struct {
	pool    *pgxpool.Pool
	regions Regions
}

// New returns the service; regions may be nil (no default region: only
// numbers invalid as stored are flagged).
func New(pool *pgxpool.Pool, regions Regions) *Service {
	return &Service{pool: pool, regions: regions}
}

// Flag is one stored number to review.
type Flag struct {
	Entity    string `json:"entity"` // contact or company
	EntityID  string `json:"id"`
	Field     string `json:"field"`     // phone or mobile_phone
	Stored    string `json:"stored"`    // as stored
	Suggested string `json:"suggested"` // the national reading in the scan's region; "" when none
	Reason    string `json:"reason"`    // national_number_read_as_international or invalid
}

// Scan is the outcome of one scan of an account.
type Scan struct {
	Region    string    `json:"region"`
	Checked   int64     `json:"checked"` // numbers looked at
	Flagged   int64     `json:"flagged"`
	ScannedAt time.Time `json:"scanned_at"`
}

// sources are the stored numbers a scan reads: the live (not deleted, not
// merged) contacts and companies of the PostgreSQL read model, which the
// read API serves from.
var sources = []struct{ entity, query string }{
	{"contact", `SELECT uuid::text, 'phone', doc ->> 'phone' FROM rm_contacts
		WHERE account_id = $1 AND NOT hidden AND coalesce(doc ->> 'phone', '') <> ''
		UNION ALL
		SELECT uuid::text, 'mobile_phone', doc ->> 'mobile_phone' FROM rm_contacts
		WHERE account_id = $1 AND NOT hidden AND coalesce(doc ->> 'mobile_phone', '') <> ''`},
	{"company", `SELECT id::text, 'phone', doc ->> 'phone' FROM rm_companies
		WHERE account_id = $1 AND NOT deleted AND coalesce(doc ->> 'phone', '') <> ''`},
}

// Run scans the account's stored numbers against region ("" takes the
// account's default_phone_region) and replaces the account's flags with
// what it finds, in one transaction.
func (s *Service) Run(ctx context.Context, accountID, region string) (Scan, error) {
	region, err := domain.NormalizePhoneRegion(region)
	if err != nil {
		return Scan{}, err
	}
	if region == "" && s.regions != nil {
		r, err := s.regions.DefaultPhoneRegion(ctx, accountID)
		if err != nil {
			return Scan{}, err
		}
		if region, err = domain.NormalizePhoneRegion(r); err != nil {
			region = "" // an unvalidated old setting: scan without one
		}
	}
	scan := Scan{Region: region}
	var flags [][]any
	for _, src := range sources {
		rows, err := s.pool.Query(ctx, src.query, accountID)
		if err != nil {
			return Scan{}, fmt.Errorf("phone review: read %ss: %w", src.entity, err)
		}
		var id, field, stored string
		_, err = pgx.ForEachRow(rows, []any{&id, &field, &stored}, func() error {
			scan.Checked++
			if sus, ok := domain.SuspectPhone(stored, region); ok {
				flags = append(flags, []any{accountID, src.entity, id, field, stored, sus.Suggested, sus.Reason})
			}
			return nil
		})
		if err != nil {
			return Scan{}, fmt.Errorf("phone review: read %ss: %w", src.entity, err)
		}
	}
	scan.Flagged = int64(len(flags))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two scans of one account at once would otherwise both delete
		// and both insert.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('phone_review:' || $1))`, accountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM phone_reviews WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"phone_reviews"},
			[]string{"account_id", "entity", "entity_id", "field", "stored", "suggested", "reason"},
			pgx.CopyFromRows(flags)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO phone_review_scans (account_id, region, checked, flagged, scanned_at)
			VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (account_id) DO UPDATE SET region = $2, checked = $3, flagged = $4, scanned_at = now()
			RETURNING scanned_at`, accountID, region, scan.Checked, scan.Flagged).Scan(&scan.ScannedAt)
	})
	if err != nil {
		return Scan{}, fmt.Errorf("phone review: record: %w", err)
	}
	return scan, nil
}

// RunAll scans every account (each in its own region, or region when
// given), in account id order, calling each after every account: the
// operator's pass after an upgrade.
func (s *Service) RunAll(ctx context.Context, region string, each func(accountID string, sc Scan)) error {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM accounts ORDER BY id`)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		sc, err := s.Run(ctx, id, region)
		if err != nil {
			return fmt.Errorf("account %s: %w", id, err)
		}
		each(id, sc)
	}
	return nil
}

// Report is the account's last scan and a page of its flags.
type Report struct {
	Scan  *Scan  `json:"scan"` // null: never scanned
	Items []Flag `json:"items"`
	Total int64  `json:"total"`
}

// List returns the account's flags from its last scan, ordered by entity,
// id and field.
func (s *Service) List(ctx context.Context, accountID string, offset, limit int) (Report, error) {
	rep := Report{Items: []Flag{}}
	var sc Scan
	err := s.pool.QueryRow(ctx, `SELECT region, checked, flagged, scanned_at FROM phone_review_scans WHERE account_id = $1`,
		accountID).Scan(&sc.Region, &sc.Checked, &sc.Flagged, &sc.ScannedAt)
	switch {
	case err == pgx.ErrNoRows:
		return rep, nil
	case err != nil:
		return rep, err
	}
	rep.Scan, rep.Total = &sc, sc.Flagged
	rows, err := s.pool.Query(ctx, `SELECT entity, entity_id::text, field, stored, suggested, reason FROM phone_reviews
		WHERE account_id = $1 ORDER BY entity DESC, entity_id, field OFFSET $2 LIMIT $3`, accountID, offset, limit)
	if err != nil {
		return rep, err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Flag])
	if err != nil {
		return rep, err
	}
	if items != nil {
		rep.Items = items
	}
	return rep, nil
}
