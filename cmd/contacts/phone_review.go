package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"contacts/domain"
	"contacts/internal/auth"
	"contacts/internal/phonereview"
)

// phoneReviewCommand flags the stored phone numbers that were probably
// misread before phone numbers had a default region, for one account or
// all, as POST /api/v1/phone_review/scan does: nothing is rewritten;
// administrators read the flags with GET /api/v1/phone_review.
func phoneReviewCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("phone-review", flag.ContinueOnError)
	account := fs.String("account-id", "", "scan this account only (default: every account)")
	region := fs.String("region", "", "read national numbers in this ISO 3166 alpha-2 region (default: each account's default_phone_region)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *account != "" && !domain.IsUUID(*account) {
		return fmt.Errorf("--account-id must be an account id (a UUID)")
	}
	if _, err := domain.NormalizePhoneRegion(*region); err != nil {
		return fmt.Errorf("--region must be an ISO 3166 alpha-2 country code, like US")
	}
	cfg, logger, db, err := open(ctx, fs.Args(), 4)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	if cfg.ElasticsearchURL != "" {
		return fmt.Errorf("phone-review reads the PostgreSQL read model; it is not available with ELASTICSEARCH_URL")
	}
	// Only the accounts' settings are read: no token is signed, no secret needed.
	svc := phonereview.New(db.Pool, auth.New(db.Pool, nil, cfg.AccessTokenTTL))
	enc := json.NewEncoder(os.Stdout)
	print := func(id string, sc phonereview.Scan) {
		_ = enc.Encode(map[string]any{"account_id": id, "region": sc.Region, "checked": sc.Checked, "flagged": sc.Flagged})
	}
	if *account != "" {
		sc, err := svc.Run(ctx, *account, *region)
		if err != nil {
			return describeError(err)
		}
		print(*account, sc)
		return nil
	}
	return svc.RunAll(ctx, *region, print)
}
