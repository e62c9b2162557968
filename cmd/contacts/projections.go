package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"contacts/eventstore"
	"contacts/internal/config"
	"contacts/projections"
)

func newProjectionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "Inspect and rebuild the read models' projections",
		Args:  cobra.NoArgs,
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "How far each projection (and the Kafka relay) is behind the event store, as JSON",
		Long: "How far each projection (and the Kafka relay) is behind the event store, as JSON:\n" +
			`{"projections":[{"name":"contacts","position":1042,"head":1050,"lag":8,"updated_at":"…"}, …]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return projectionsStatus(cmd.Context(), cmd) },
	}
	config.AddFlags(status.Flags())
	valid := append(slices.Clone(projections.Names), "all")
	rebuild := &cobra.Command{
		Use:   "rebuild <name|all>",
		Short: "Replay the event store into fresh read models (names: " + strings.Join(projections.Names, ", ") + ", or all)",
		Long: "Replay the event store from event 0 into fresh read models while the live ones keep serving,\n" +
			"then swap them in atomically. Safe to interrupt and run again.\n" +
			"Names: " + strings.Join(projections.Names, ", ") + ", or all.",
		Args:      cobra.ExactArgs(1),
		ValidArgs: valid,
		RunE:      func(cmd *cobra.Command, args []string) error { return projectionsRebuild(cmd.Context(), cmd, args[0]) },
	}
	config.AddFlags(rebuild.Flags())
	cmd.AddCommand(status, rebuild)
	return cmd
}

// projectionsStatus prints what GET /api/v1/projections answers.
func projectionsStatus(ctx context.Context, cmd *cobra.Command) error {
	_, logger, db, err := open(ctx, cmd, 2)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	st, err := projections.Statuses(ctx, eventstore.New(db.Pool))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"projections": st})
}

func projectionsRebuild(ctx context.Context, cmd *cobra.Command, name string) error {
	names := []string{name}
	if name == "all" {
		names = projections.Names
	} else if !slices.Contains(projections.Names, name) {
		return fmt.Errorf("no projection %q (names: %v, or all)", name, projections.Names)
	}
	cfg, logger, db, err := open(ctx, cmd, 4)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	rm, err := openReadModel(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
	return rebuildReadModels(ctx, store, rm, readModelKind(cfg), names, cmd.ErrOrStderr())
}

// rebuildReadModels rebuilds the read models names, showing progress, and
// after each one prints its indexing throughput to w: the documents written
// into the new storage during the replay, per second of replay (the swap
// and the catch-up after it are not counted).
func rebuildReadModels(ctx context.Context, store *eventstore.Store, rm projections.ReadModel, kind string, names []string, w io.Writer) error {
	show := progressPrinter(isTerminal(os.Stderr))
	for _, name := range names {
		counted := &countingRebuilder{ReadModel: rm}
		var replay time.Duration
		report := func(p projections.Progress) {
			if p.Phase == "swap" {
				replay = p.Elapsed
			}
			show(p)
		}
		if err := projections.Rebuild(ctx, store, counted, name, 5000, report); err != nil {
			return err
		}
		docs := counted.docs.Load()
		fmt.Fprintf(w, "%-9s %d documents indexed into %s in %.1f s of replay: %.0f documents/s\n",
			name, docs, kind, replay.Seconds(), float64(docs)/max(replay.Seconds(), 1e-3))
	}
	return nil
}

// countingRebuilder counts the documents a rebuild writes into its new
// storage (a document written twice counts twice).
type countingRebuilder struct {
	projections.ReadModel
	docs atomic.Int64
}

func (c *countingRebuilder) StartRebuild(ctx context.Context, name string) (projections.Store, error) {
	st, err := c.ReadModel.StartRebuild(ctx, name)
	if err != nil {
		return nil, err
	}
	return countingStore{st, &c.docs}, nil
}

type countingStore struct {
	projections.Store
	n *atomic.Int64
}

func counted[D any](n *atomic.Int64, docs []D, err error) error {
	if err == nil {
		n.Add(int64(len(docs)))
	}
	return err
}

func (s countingStore) UpsertContacts(ctx context.Context, docs []projections.ContactDoc) error {
	return counted(s.n, docs, s.Store.UpsertContacts(ctx, docs))
}

func (s countingStore) UpsertCompanies(ctx context.Context, docs []projections.CompanyDoc) error {
	return counted(s.n, docs, s.Store.UpsertCompanies(ctx, docs))
}

func (s countingStore) UpsertGroups(ctx context.Context, docs []projections.GroupDoc) error {
	return counted(s.n, docs, s.Store.UpsertGroups(ctx, docs))
}

func (s countingStore) UpsertLabels(ctx context.Context, docs []projections.LabelDoc) error {
	return counted(s.n, docs, s.Store.UpsertLabels(ctx, docs))
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
