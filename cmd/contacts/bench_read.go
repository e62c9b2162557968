package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"contacts/internal/accounts"
	"contacts/internal/config"
)

type benchReadOptions struct {
	email, password string
	iterations      int
	engine          string // "pg", "es", "both" or "" (both when ELASTICSEARCH_URL is set)
}

// Read engines of the benchmark: the read model the API answers from.
const (
	enginePG = "pg"
	engineES = "es"
)

func engineTitle(e string) string {
	if e == engineES {
		return "Elasticsearch"
	}
	return "PostgreSQL"
}

// benchEngines is the engines --engine names, in the table's order.
func benchEngines(flag string, cfg config.Config) ([]string, error) {
	switch flag {
	case "":
		if cfg.ElasticsearchURL != "" {
			return []string{enginePG, engineES}, nil
		}
		return []string{enginePG}, nil
	case "both":
		if cfg.ElasticsearchURL == "" {
			return nil, errors.New("--engine both needs ELASTICSEARCH_URL (or --elasticsearch-url)")
		}
		return []string{enginePG, engineES}, nil
	case enginePG:
		return []string{enginePG}, nil
	case engineES:
		if cfg.ElasticsearchURL == "" {
			return nil, errors.New("--engine es needs ELASTICSEARCH_URL (or --elasticsearch-url)")
		}
		return []string{engineES}, nil
	}
	return nil, fmt.Errorf("--engine %q: want pg, es or both", flag)
}

// onEngine serves the benchmark's API from the read model engine names:
// PostgreSQL, or the Elasticsearch of cfg (the tune of benchAPI).
func onEngine(engine string, cfg config.Config) func(*config.Config) {
	return func(c *config.Config) {
		if engine == engineES {
			c.ElasticsearchURL = cfg.ElasticsearchURL
		}
	}
}

// readClass is one query class of the read benchmark: a REST request whose
// values vary with the iteration, so that no single plan or page is
// favoured (every value exists in seeded data).
type readClass struct {
	name   string
	target string // the target, for the table
	path   func(i int) string
}

// params is a query string of key, value pairs.
func params(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func readClasses() []readClass {
	titles := []string{"engineer", "manager", "director", "vp", "chief"}
	countries := []string{"United States", "Germany", "Canada", "United Kingdom", "India"}
	seniorities := []string{"senior", "manager", "director", "vp", "entry"}
	firstNames := []string{"John", "Mary", "Wei", "Priya", "Carlos"}
	at := func(xs []string, i int) string { return xs[i%len(xs)] }
	list := func(query func(i int) string) func(int) string {
		return func(i int) string { return "/api/v1/contacts?" + query(i) }
	}
	substring := func(field string, values ...string) func(int) string {
		return list(func(i int) string { return params(field, at(values, i), "limit", "25") })
	}
	return []readClass{
		{"list: 3 filters + ordering (-created_at), 25 per page", "p99 ≤ 50 ms", list(func(i int) string {
			return params("title", at(titles, i), "country", at(countries, i), "seniority", seniorities[(i/5)%5],
				"ordering", "-created_at", "limit", "25")
		})},
		{"list: 3 filters + ordering by last_name", "p99 ≤ 50 ms", list(func(i int) string {
			return params("title", at(titles, i), "country", at(countries, i), "employees_min", "100",
				"ordering", "last_name", "limit", "25")
		})},
		// The protocol document's list_contacts example, as it stands.
		{"list: protocol example, ordering -employees,company", "p99 ≤ 50 ms", list(func(i int) string {
			return params("first_name", at(firstNames, i), "country", countries[(i/5)%5], "employees_min", "50",
				"limit", "25", "view", "simple", "ordering", "-employees,company")
		})},
		{"list: first_name contains, 25 per page", "p99 ≤ 50 ms", substring("first_name", "ar", "ch", "ia", "el", "an", "ro")},
		{"list: last_name contains", "p99 ≤ 50 ms", substring("last_name", "son", "ez", "ll", "ma", "in", "er")},
		{"list: email contains", "p99 ≤ 50 ms", substring("email", "john", "mary.s", "lee.", "ia.", "smith.1", "wei")},
		{"list: company contains", "p99 ≤ 50 ms", substring("company", "acme", "labs 1", "stark", "pied", "tech", "group 4")},
		{"distinct titles with search", "p99 ≤ 50 ms", func(i int) string {
			return "/api/v1/contacts/fields/titles?" + params("search", at([]string{"eng", "man", "dir", "sal", "pro", "ops"}, i),
				"distinct", "true", "limit", "50")
		}},
		{"distinct companies with search", "p99 ≤ 50 ms", func(i int) string {
			return "/api/v1/contacts/fields/companies?" + params("search", at([]string{"acme", "glo", "tech", "lab", "sys", "in"}, i),
				"distinct", "true", "limit", "50")
		}},
		{"distinct industries, separated, with search", "p99 ≤ 50 ms", func(i int) string {
			return "/api/v1/contacts/fields/industries?" + params("search", at([]string{"tech", "fin", "health", "soft", "ed", "re"}, i),
				"distinct", "true", "separated", "true")
		}},
		{"count with 2 filters", "p99 ≤ 50 ms", func(i int) string {
			return "/api/v1/contacts/count?" + params("country", at(countries, i), "seniority", at(seniorities, i))
		}},
		{"count with 3 filters", "p99 ≤ 50 ms", func(i int) string {
			return "/api/v1/contacts/count?" + params("country", at(countries, i), "title", at(titles, i), "employees_min", "500")
		}},
		// Every seeded e-mail contains it: a substring matching every row.
		{"count: email contains mail.example", "p99 ≤ 50 ms", func(int) string {
			return "/api/v1/contacts/count?" + params("email", "mail.example")
		}},
		{"count: first_name contains th", "p99 ≤ 50 ms", func(int) string {
			return "/api/v1/contacts/count?" + params("first_name", "th")
		}},
	}
}

// benchRead runs `contacts bench read`: every query class as REST requests
// to the production API (App.Handler on a loopback port) of each engine,
// the engines taking turns request by request (so that a noisy moment of
// the machine falls on both), then WebSocket get_contact round trips.
func benchRead(ctx context.Context, cmd *cobra.Command, opt benchReadOptions) error {
	cfg, logger, db, err := open(ctx, cmd, 16)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	engines, err := benchEngines(opt.engine, cfg)
	if err != nil {
		return err
	}
	if opt.iterations < 1 {
		return errors.New("--iterations must be at least 1")
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	sess, err := accounts.New(db.Pool, secret, cfg.AccessTokenTTL).Login(ctx, opt.email, opt.password, "")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	apis := make([]readAPI, len(engines))
	for i, e := range engines {
		addr, _, stop, err := benchAPI(ctx, cfg, db, onEngine(e, cfg))
		if err != nil {
			return fmt.Errorf("%s: %w", engineTitle(e), err)
		}
		defer stop()
		apis[i] = readAPI{engine: e, base: "http://" + addr, token: sess.AccessToken, client: &http.Client{Timeout: 5 * time.Minute}}
	}
	rows, err := runReadClasses(ctx, apis, readClasses(), opt.iterations, os.Stderr)
	if err != nil {
		return err
	}
	wsRow, err := benchWebSocketGet(ctx, apis, opt.iterations*5)
	if err != nil {
		return fmt.Errorf("websocket get_contact: %w", err)
	}
	rows = append(rows, wsRow)
	return printReadTable(cmd.OutOrStdout(), engines, rows)
}

// readAPI is the API of one engine, and the token it is queried with.
type readAPI struct {
	engine, base, token string
	client              *http.Client
}

// get sends one GET and returns its body (an error unless 200).
func (a readAPI) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s on %s: %d %s", path, engineTitle(a.engine), res.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// readRow is one line of the table: per engine (in the table's order) the
// p50 and p99, and whether the engines answered the class's first request
// alike.
type readRow struct {
	name, target string
	n            int
	p50, p99     []time.Duration
	same         string // "yes", "NO", or "" (one engine, or not compared)
}

func runReadClasses(ctx context.Context, apis []readAPI, classes []readClass, iterations int, progress io.Writer) ([]readRow, error) {
	var rows []readRow
	for _, c := range classes {
		// Warm each engine and compare their first answers.
		var answers []string
		for _, a := range apis {
			body, err := a.get(ctx, c.path(0))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			answers = append(answers, answerDigest(body))
		}
		lat := make([][]time.Duration, len(apis))
		for i := range iterations {
			for e, a := range apis {
				t0 := time.Now()
				if _, err := a.get(ctx, c.path(i)); err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				lat[e] = append(lat[e], time.Since(t0))
			}
		}
		row := readRow{name: c.name, target: c.target, n: iterations, same: sameAnswers(answers)}
		line := fmt.Sprintf("%-52s", c.name)
		for e, a := range apis {
			p50, p99 := percentiles(lat[e])
			row.p50, row.p99 = append(row.p50, p50), append(row.p99, p99)
			line += fmt.Sprintf("  %s p50 %8.2f ms p99 %8.2f ms", a.engine, ms(p50), ms(p99))
		}
		fmt.Fprintln(progress, line)
		rows = append(rows, row)
	}
	return rows, nil
}

func sameAnswers(answers []string) string {
	if len(answers) < 2 {
		return ""
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			return "NO"
		}
	}
	return "yes"
}

// answerDigest reduces an answer to what both engines must agree on: a
// count, the uuids of a page in order, or the values of a field action
// (not the cursors, opaque and engine-specific, nor the documents' every
// byte).
func answerDigest(body []byte) string {
	var v struct {
		Count   *int64            `json:"count"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return string(body)
	}
	var parts []string
	if v.Count != nil {
		parts = append(parts, fmt.Sprint("count=", *v.Count))
	}
	for _, r := range v.Results {
		var doc struct {
			UUID string `json:"uuid"`
		}
		if json.Unmarshal(r, &doc) == nil && doc.UUID != "" {
			parts = append(parts, doc.UUID)
			continue
		}
		parts = append(parts, string(r))
	}
	return strings.Join(parts, "\n")
}

// benchWebSocketGet measures n get_contact round trips on one connection
// to each engine's API, one at a time, the engines taking turns.
func benchWebSocketGet(ctx context.Context, apis []readAPI, n int) (readRow, error) {
	row := readRow{name: "WebSocket get_contact round trip", target: "p50 ≤ 2 ms", n: n}
	body, err := apis[0].get(ctx, "/api/v1/contacts/uuids?limit=1000")
	if err != nil {
		return row, err
	}
	var ids struct {
		UUIDs []string `json:"uuids"`
	}
	if err := json.Unmarshal(body, &ids); err != nil || len(ids.UUIDs) == 0 {
		return row, fmt.Errorf("no contacts to get: %v", err)
	}
	conns := make([]*websocket.Conn, len(apis))
	for e, a := range apis {
		u := strings.Replace(a.base, "http://", "ws://", 1) + "/api/v1/contacts/ws?token=" + url.QueryEscape(a.token)
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
		if err != nil {
			return row, err
		}
		defer conn.Close()
		conns[e] = conn
	}
	lat := make([][]time.Duration, len(apis))
	for i := range n {
		for e, conn := range conns {
			req := map[string]any{"action": "get_contact", "request_id": fmt.Sprint("r", i),
				"data": map[string]any{"contact_uuid": ids.UUIDs[i%len(ids.UUIDs)]}}
			t0 := time.Now()
			if err := conn.WriteJSON(req); err != nil {
				return row, err
			}
			var resp struct {
				Status string          `json:"status"`
				Error  json.RawMessage `json:"error"`
			}
			if err := conn.ReadJSON(&resp); err != nil {
				return row, err
			}
			lat[e] = append(lat[e], time.Since(t0))
			if resp.Status != "success" {
				return row, fmt.Errorf("get_contact on %s: %s", engineTitle(apis[e].engine), resp.Error)
			}
		}
	}
	for e := range apis {
		p50, p99 := percentiles(lat[e])
		row.p50, row.p99 = append(row.p50, p50), append(row.p99, p99)
	}
	return row, nil
}

// printReadTable prints the rows: p50 and p99 per engine and, with both,
// Elasticsearch's time as a multiple of PostgreSQL's (below 1: faster).
func printReadTable(w io.Writer, engines []string, rows []readRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "query class\tn"
	for _, e := range engines {
		head += fmt.Sprintf("\t%s p50\t%s p99", engineTitle(e), engineTitle(e))
	}
	if len(engines) == 2 {
		head += "\tES/PG p50\tES/PG p99\tsame answer"
	}
	fmt.Fprintln(tw, head+"\ttarget")
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%d", r.name, r.n)
		for e := range engines {
			line += fmt.Sprintf("\t%.2f ms\t%.2f ms", ms(r.p50[e]), ms(r.p99[e]))
		}
		if len(engines) == 2 {
			line += fmt.Sprintf("\t%s\t%s\t%s", ratio(r.p50[1], r.p50[0]), ratio(r.p99[1], r.p99[0]), r.same)
		}
		fmt.Fprintln(tw, line+"\t"+r.target)
	}
	return tw.Flush()
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}
