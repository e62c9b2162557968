package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"contacts/domain"
	"contacts/readapi"
)

// exportCommand streams an account's contacts as CSV, as POST
// /api/v1/contacts/export does: --query is that route's JSON body (filters,
// advanced "filter", "columns"); --columns overrides its columns.
func exportCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	account := fs.String("account-id", "", "the account whose contacts to export (required)")
	query := fs.String("query", "", `filters as JSON, e.g. '{"country":"germany","filter":[…],"columns":["name","email"]}'`)
	columns := fs.String("columns", "", "comma-separated columns (default: "+strings.Join(readapi.DefaultExportColumns, ",")+")")
	output := fs.String("output", "-", "file to write (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
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
	cfg, logger, db, err := open(ctx, fs.Args(), 4)
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
	if err := readapi.NewPG(db.Pool).ExportCSV(ctx, *account, req, func() io.Writer { return bw }); err != nil {
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
