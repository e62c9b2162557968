package readapi

import (
	"context"
	"io"
)

// Exporter streams an account's contacts as CSV: start is called once,
// before the first byte, for the writer to stream to (so that an error
// found before then can still be answered as an error).
type Exporter interface {
	ExportCSV(ctx context.Context, accountID string, req ExportRequest, start func() io.Writer) error
}

// Engine is one read model's query side: everything the read API (REST
// reads, the contacts WebSocket, export, live-update filters) reads. A
// process serves one Engine — PostgreSQL's (pgquery.NewEngine) or
// Elasticsearch's (esquery.NewEngine) — so that no answer mixes the two.
type Engine struct {
	Service Service
	Lists   Lists          // GET /companies, /groups, /labels
	Matcher ContactMatcher // the filters of contacts subscriptions
	Export  Exporter       // POST /contacts/export
}
