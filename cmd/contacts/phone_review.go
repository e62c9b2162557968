package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"contacts/domain"
	"contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/phonereview"
)

// newPhoneReviewCommand flags the stored phone numbers that were probably
// misread before phone numbers had a default region, for one account or
// all, as POST /api/v1/phone_review/scan does: nothing is rewritten;
// administrators read the flags with GET /api/v1/phone_review.
func newPhoneReviewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "phone-review [--account-id ID] [--region R]",
		Short: "Flag stored phone numbers that were probably misread (nothing is rewritten)",
		Long: "Flag the stored phone numbers that were probably misread before phone numbers had a default region,\n" +
			"for one account or all, as POST /api/v1/phone_review/scan does. Nothing is rewritten;\n" +
			"administrators list the flags with GET /api/v1/phone_review.",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	account := fs.String("account-id", "", "scan this account only (default: every account)")
	region := fs.String("region", "", "read national numbers in this ISO 3166 alpha-2 region (default: each account's default_phone_region)")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return phoneReviewCommand(cmd.Context(), cmd, *account, *region)
	}
	return cmd
}

func phoneReviewCommand(ctx context.Context, cmd *cobra.Command, account, region string) error {
	if account != "" && !domain.IsUUID(account) {
		return fmt.Errorf("--account-id must be an account id (a UUID)")
	}
	if _, err := domain.NormalizePhoneRegion(region); err != nil {
		return fmt.Errorf("--region must be an ISO 3166 alpha-2 country code, like US")
	}
	cfg, logger, db, err := open(ctx, cmd, 4)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	if cfg.ElasticsearchURL != "" {
		return fmt.Errorf("phone-review reads the PostgreSQL read model; it is not available with ELASTICSEARCH_URL")
	}
	// Only the accounts' settings are read: no token is signed, no secret needed.
	svc := phonereview.New(db.Pool, accounts.New(db.Pool, nil, cfg.AccessTokenTTL))
	enc := json.NewEncoder(cmd.OutOrStdout())
	print := func(id string, sc phonereview.Scan) {
		_ = enc.Encode(map[string]any{"account_id": id, "region": sc.Region, "checked": sc.Checked, "flagged": sc.Flagged})
	}
	if account != "" {
		sc, err := svc.Run(ctx, account, region)
		if err != nil {
			return describeError(err)
		}
		print(account, sc)
		return nil
	}
	return svc.RunAll(ctx, region, print)
}
