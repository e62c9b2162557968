package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"contacts/eventstore"
	"contacts/projections"
)

func projectionsCommand(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: contacts projections status | rebuild <name|all>")
	}
	switch args[0] {
	case "status":
		_, logger, db, err := open(ctx, args[1:], 2)
		if err != nil {
			return err
		}
		defer closeDB(ctx, logger, db)
		st, err := projections.Statuses(ctx, eventstore.New(db.Pool))
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "rebuild":
		if len(args) < 2 {
			return fmt.Errorf("usage: contacts projections rebuild <name|all> (names: %v)", projections.Names)
		}
		names := []string{args[1]}
		if args[1] == "all" {
			names = projections.Names
		} else if !slices.Contains(projections.Names, args[1]) {
			return fmt.Errorf("no projection %q (names: %v, or all)", args[1], projections.Names)
		}
		cfg, logger, db, err := open(ctx, args[2:], 4)
		if err != nil {
			return err
		}
		defer closeDB(ctx, logger, db)
		rm, err := openReadModel(ctx, cfg, db, logger)
		if err != nil {
			return err
		}
		store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
		report := progressPrinter(isTerminal(os.Stderr))
		for _, name := range names {
			if err := projections.Rebuild(ctx, store, rm, name, 5000, report); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown projections command %q (status, rebuild)", args[0])
}

// progressPrinter shows rebuild progress: one rewritten line on a terminal,
// a line per report otherwise (logs, CI).
func progressPrinter(terminal bool) func(projections.Progress) {
	return func(p projections.Progress) {
		line := fmt.Sprintf("%-9s %-8s %d/%d events  %.0f events/s  ETA %s  elapsed %s",
			p.Projection, p.Phase, p.Events, p.Total, p.Rate(), p.ETA().Round(time.Second), p.Elapsed.Round(100*time.Millisecond))
		switch {
		case terminal && p.Phase == "done":
			fmt.Fprintf(os.Stderr, "\r\033[K%s\n", line)
		case terminal:
			fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		default:
			fmt.Fprintln(os.Stderr, line)
		}
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
