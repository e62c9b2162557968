package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"contacts/domain"
	"contacts/internal/config"
	"contacts/readapi"
	"contacts/readapi/pgquery"
)

// exportCommand streams an account's contacts as CSV, as POST
// /api/v1/contacts/export does: --query is that route's JSON body (filters,
// advanced "filter", "columns"); --columns overrides its columns.
func newExportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --account-id ID [--query JSON] [--columns a,b] [--output FILE]",
		Short: "Stream an account's contacts (filtered) as CSV",
		Long: "Stream an account's contacts as CSV, as POST /api/v1/contacts/export does (one snapshot):\n" +
			"--query is that route's JSON body (filters, advanced \"filter\", \"columns\"); --columns overrides its columns.",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	account := fs.String("account-id", "", "the account whose contacts to export (required)")
	query := fs.String("query", "", "filters as JSON, e.g. '{\"country\":\"germany\",\"filter\":[…],\"columns\":[\"name\",\"email\"]}'")
	columns := fs.String("columns", "", "comma-separated columns (default: "+strings.Join(readapi.DefaultExportColumns, ",")+")")
	output := fs.String("output", "-", "file to write (- for standard output)")
	config.AddFlags(fs)
	_ = cmd.MarkFlagRequired("account-id")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return exportCommand(cmd.Context(), cmd, account, query, columns, output)
	}
	return cmd
}

func exportCommand(ctx context.Context, cmd *cobra.Command, account, query, columns, output *string) error {
	if !domain.IsUUID(*account) {
		return fmt.Errorf("--account-id must be an account id (a UUID)")
	}
	var body map[string]any
	if strings.TrimSpace(*query) != "" {
		if err := json.Unmarshal([]byte(*query), &body); err != nil {
			return fmt.Errorf("--query is not a JSON object: %w", err)
		}
	}
	if *columns != "" {
		if body == nil {
			body = map[string]any{}
		}
		var cols []any
		for _, c := range strings.Split(*columns, ",") {
			cols = append(cols, strings.TrimSpace(c))
		}
		body["columns"] = cols
	}
	var in any
	if body != nil {
		in = body
	}
	req, err := readapi.ParseExportRequest(url.Values{}, in)
	if err != nil {
		return describeError(err)
	}
	cfg, logger, db, err := open(ctx, cmd, 4)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	if cfg.ElasticsearchURL != "" {
		return fmt.Errorf("export reads the PostgreSQL read model; it is not available with ELASTICSEARCH_URL")
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *output != "-" {
		if f, err = os.Create(*output); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := pgquery.NewPG(db.Pool).ExportCSV(ctx, *account, req, func() io.Writer { return bw }); err != nil {
		return describeError(err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}

// describeError spells out a validation error's fields.
func describeError(err error) error {
	if de, ok := err.(*domain.Error); ok && len(de.Fields) > 0 {
		return fmt.Errorf("%s", de.Error())
	}
	return err
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
