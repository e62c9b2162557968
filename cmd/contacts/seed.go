package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/seed"
	"contacts/projections"
)

func newSeedCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Generate an account with N realistic contacts (benchmarks, demos)",
		Long: "Generate an account with N realistic contacts (and M companies) through the event store,\n" +
			"rebuild the read models over them, and print the account, its e-mail and password as JSON.",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	contacts := fs.Int("contacts", 10_000, "contacts to generate")
	companies := fs.Int("companies", 0, "companies to generate (0: contacts/20)")
	rngSeed := fs.Uint64("seed", 1, "generator seed (same seed, same names and values)")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return seedCommand(cmd.Context(), cmd, contacts, companies, rngSeed)
	}
	return cmd
}

// seedCommand creates an account with generated companies and contacts,
// through the event store, and rebuilds the read models over them.
func seedCommand(ctx context.Context, cmd *cobra.Command, contacts, companies *int, rngSeed *uint64) error {
	cfg, logger, db, err := open(ctx, cmd, 8)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	suffix := hex.EncodeToString(raw)
	password := "seed-" + suffix
	sess, err := accounts.New(db.Pool, secret, cfg.AccessTokenTTL).Register(ctx, accounts.RegisterInput{
		AccountName: "Seed " + suffix, Name: "Seed Admin", Email: "seed-" + suffix + "@example.com", Password: password,
	})
	if err != nil {
		return err
	}
	store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
	terminal := isTerminal(os.Stderr)
	start := time.Now()
	events, err := seed.Run(ctx, store, seed.Options{
		AccountID: sess.Account.ID, ActorID: sess.User.ID, Contacts: *contacts, Companies: *companies, Seed: *rngSeed,
		Progress: func(done, total int) {
			if terminal {
				fmt.Fprintf(os.Stderr, "\r\033[Kseeding %d/%d", done, total)
			}
		},
	})
	if terminal {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	appended := time.Since(start)
	// The read models are rebuilt in one pass, much faster than the live
	// projector would take over a million events.
	rm, err := openReadModel(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	if err := rebuildReadModels(ctx, store, rm, readModelKind(cfg), projections.Names, cmd.ErrOrStderr()); err != nil {
		return err
	}
	out := map[string]any{
		"account_id": sess.Account.ID, "email": sess.User.Email, "password": password,
		"contacts": *contacts, "events": events,
		"append_seconds": appended.Seconds(), "total_seconds": time.Since(start).Seconds(),
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
