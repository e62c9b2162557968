// Package esquery answers the read API's contact queries (readapi.Service)
// from the Elasticsearch read model that projections/esstore writes, with
// the semantics of the PostgreSQL service (readapi.PG) point by point. A
// differential test (differential_test.go) runs one table of queries
// against both over the same generated account and requires identical
// answers.
//
// How the PostgreSQL semantics are reproduced:
//
//   - Case-insensitive text filters use the ".lower" keyword subfield
//     (esstore.ExactNormalizer: lower-case only, as PostgreSQL's lower();
//     the main keyword also folds accents, which PostgreSQL does not).
//     Substrings are wildcard queries on it with the value's wildcard
//     characters escaped; nothing of user input reaches query_string,
//     regular expressions or scripts.
//   - Ordering sorts the same subfield (PostgreSQL's C.UTF-8 collation is
//     code point order, as a keyword's byte order), a missing text as "",
//     a missing employee count as -1, a missing revenue as the lowest, with
//     the uuid as the tiebreak in the direction of the last key.
//   - Cursors have the PostgreSQL cursors' format (readapi.Query.EncodeCursor)
//     and hold this engine's sort values; pages continue with search_after.
//     Offsets beyond the index's result window and unlimited uuid lists are
//     walked with a point in time and search_after.
//   - Field actions read the matching contacts' values in q's ordering and
//     split, search, de-duplicate (case-insensitively, the first spelling in
//     byte order kept) and page them as readapi.PG does.
//
// Known difference (tested in differential_test.go):
//
//   - Times are kept to the millisecond (Elasticsearch "date"); PostgreSQL
//     keeps microseconds. Contacts created within one millisecond can order
//     differently, and an RFC 3339 bound with sub-millisecond digits
//     compares at the millisecond.
//
// Not supported yet (an error, never a different answer):
// custom_attributes.* / additional_attributes.* conditions.
package esquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	"contacts/domain"
	"contacts/projections"
	"contacts/projections/esstore"
	"contacts/readapi"
)

// Service is readapi.Service over the Elasticsearch contacts read model.
type Service struct {
	es    *elasticsearch.TypedClient
	index string // the contacts alias
	get   contactGetter
	// window is the largest from+size one search may ask for
	// (index.max_result_window); deeper pages are walked.
	window int
	// pageSize is the page of a point-in-time walk.
	pageSize int
}

// contactGetter reads one contact by id in real time (esstore.Store.Contact).
type contactGetter interface {
	Contact(ctx context.Context, accountID, id string) (projections.ContactDoc, bool, error)
}

var _ readapi.Service = (*Service)(nil)

// New returns the service over the read model of store.
func New(store *esstore.Store) *Service {
	return &Service{es: store.Client(), index: store.Alias(projections.Contacts), get: store, window: 10000, pageSize: 1000}
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// lowestRevenue is the sort value of a missing annual revenue (PostgreSQL:
// -Infinity): below every real revenue.
const lowestRevenue = -math.MaxFloat64

// sortField is the document field and missing value of an ordering field.
func sortField(field string) (string, types.Missing) {
	switch field {
	case "created_at", "updated_at":
		return field, nil
	case "company":
		return lower("company.name"), ""
	case "employees":
		return "company.employees", -1
	case "annual_revenue":
		return "company.annual_revenue", lowestRevenue
	}
	return lower(field), ""
}

// sortOf is the sort of keys with the uuid tiebreak (reversed for a
// backward page).
func sortOf(keys []readapi.OrderKey, reverse bool) []types.SortCombinations {
	dir := func(desc bool) *sortorder.SortOrder {
		if desc != reverse {
			return &sortorder.Desc
		}
		return &sortorder.Asc
	}
	out := make([]types.SortCombinations, 0, len(keys)+1)
	for _, k := range keys {
		f, missing := sortField(k.Field)
		out = append(out, types.SortOptions{SortOptions: map[string]types.FieldSort{f: {Order: dir(k.Desc), Missing: missing}}})
	}
	out = append(out, types.SortOptions{SortOptions: map[string]types.FieldSort{"uuid": {Order: dir(keys[len(keys)-1].Desc)}}})
	return out
}

// cursorValues turns a hit's sort values into the cursor's strings.
func cursorValues(keys []readapi.OrderKey, sortVals []types.FieldValue) ([]string, string, error) {
	if len(sortVals) < len(keys)+1 { // a point in time adds its _shard_doc
		return nil, "", fmt.Errorf("esquery: %d sort values, want %d", len(sortVals), len(keys)+1)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		v := sortVals[i]
		switch readapi.OrderType(k.Field) {
		case "timestamptz":
			ms, err := number(v)
			if err != nil {
				return nil, "", err
			}
			out[i] = time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339Nano)
		case "bigint":
			n, err := number(v)
			if err != nil {
				return nil, "", err
			}
			out[i] = strconv.FormatInt(int64(n), 10)
		case "float8":
			f, err := number(v)
			if err != nil {
				return nil, "", err
			}
			out[i] = strconv.FormatFloat(f, 'g', -1, 64)
		default:
			s, _ := v.(string)
			out[i] = s
		}
	}
	uuid, _ := sortVals[len(keys)].(string)
	return out, uuid, nil
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case json.Number:
		return x.Float64()
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("esquery: sort value %v (%T) is not a number", v, v)
}

// searchAfter turns a cursor back into search_after values.
func searchAfter(keys []readapi.OrderKey, c readapi.Cursor) ([]types.FieldValue, error) {
	out := make([]types.FieldValue, 0, len(keys)+1)
	for i, k := range keys {
		v := c.Values[i]
		switch readapi.OrderType(k.Field) {
		case "timestamptz":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, err
			}
			out = append(out, t.UnixMilli())
		case "bigint":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		case "float8":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, err
			}
			if math.IsInf(f, -1) {
				f = lowestRevenue
			}
			out = append(out, f)
		default:
			out = append(out, v)
		}
	}
	return append(out, c.UUID), nil
}

// hit is one listed contact.
type hit struct {
	uuid  string
	doc   projections.ContactDoc
	order []string
}

// fetch reads up to limit contacts (all when limit < 0) of query in keys'
// order (reversed when backward), after `after` (the boundary itself first
// when inclusive), skipping skip.
func (s *Service) fetch(ctx context.Context, query *types.Query, keys []readapi.OrderKey, backward bool, after []types.FieldValue, inclusive bool, skip, limit int) ([]hit, error) {
	var out []hit
	srt := sortOf(keys, backward)
	if inclusive && after != nil && limit != 0 {
		uuid, _ := after[len(after)-1].(string)
		one := 1
		b := &types.Query{Bool: &types.BoolQuery{Filter: []types.Query{*query, term("uuid", uuid)}}}
		res, err := s.es.Search().Index(s.index).Request(&search.Request{Query: b, Sort: srt, Size: &one}).Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("esquery: list contacts: %w", err)
		}
		for _, h := range res.Hits.Hits {
			x, err := toHit(keys, h)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		if limit > 0 {
			limit -= len(out)
		}
	}
	if limit == 0 {
		return out, nil
	}
	// One search when the page lies within the result window.
	if after == nil && limit > 0 && skip+limit <= s.window {
		from, size := skip, limit
		res, err := s.es.Search().Index(s.index).Request(&search.Request{Query: query, Sort: srt, From: &from, Size: &size, TrackTotalHits: false}).Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("esquery: list contacts: %w", err)
		}
		for _, h := range res.Hits.Hits {
			x, err := toHit(keys, h)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	err := s.walk(ctx, query, srt, after, func(h types.Hit) (bool, error) {
		if skip > 0 {
			skip--
			return true, nil
		}
		x, err := toHit(keys, h)
		if err != nil {
			return false, err
		}
		out = append(out, x)
		return limit < 0 || len(out) < limit, nil
	})
	return out, err
}

// walk visits every hit of query in srt's order after `after` through a
// point in time (one consistent view, never from beyond the result window),
// until each returns false.
func (s *Service) walk(ctx context.Context, query *types.Query, srt []types.SortCombinations, after []types.FieldValue, each func(types.Hit) (bool, error)) (err error) {
	const keepAlive = "1m"
	pit, err := s.es.OpenPointInTime(s.index).KeepAlive(keepAlive).Do(ctx)
	if err != nil {
		return fmt.Errorf("esquery: open point in time: %w", err)
	}
	id := pit.Id
	defer func() {
		// Best effort: an unclosed point in time expires after keepAlive.
		_, cerr := s.es.ClosePointInTime().Id(id).Do(ctx)
		if err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = fmt.Errorf("esquery: close point in time: %w", cerr)
		}
	}()
	if len(after) == len(srt) {
		// A cursor's boundary: a point-in-time search sorts on its implicit
		// _shard_doc tiebreak too, after ours (the uuid, unique): with any
		// value of it, what follows is what follows the boundary contact,
		// and perhaps the boundary itself, which is left out.
		uuid, _ := after[len(after)-1].(string)
		query = &types.Query{Bool: &types.BoolQuery{Filter: []types.Query{*query}, MustNot: []types.Query{term("uuid", uuid)}}}
		after = append(after[:len(after):len(after)], int64(math.MaxInt64))
	}
	size := s.pageSize
	for {
		res, err := s.es.Search().Request(&search.Request{
			Query: query, Sort: srt, SearchAfter: after, Size: &size, TrackTotalHits: false,
			Pit: &types.PointInTimeReference{Id: id, KeepAlive: keepAlive},
		}).Do(ctx)
		if err != nil {
			return fmt.Errorf("esquery: search: %w", err)
		}
		if res.PitId != nil {
			id = *res.PitId
		}
		for _, h := range res.Hits.Hits {
			more, err := each(h)
			if err != nil || !more {
				return err
			}
		}
		if len(res.Hits.Hits) < size {
			return nil
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort // ours and the PIT's _shard_doc
	}
}

func toHit(keys []readapi.OrderKey, h types.Hit) (hit, error) {
	vals, uuid, err := cursorValues(keys, h.Sort)
	if err != nil {
		return hit{}, err
	}
	x := hit{uuid: uuid, order: vals}
	if h.Source_ != nil {
		if err := json.Unmarshal(h.Source_, &x.doc); err != nil {
			return hit{}, fmt.Errorf("esquery: contact %s: %w", uuid, err)
		}
		if x.doc.Groups == nil {
			x.doc.Groups = []projections.GroupRef{}
		}
	}
	return x, nil
}

// ListContacts returns one page, as readapi.PG.ListContacts does.
func (s *Service) ListContacts(ctx context.Context, accountID string, q readapi.Query) (readapi.Page, error) {
	sc, err := newScope(accountID)
	if err != nil {
		return readapi.Page{}, err
	}
	if err := readapi.CheckCursor(q); err != nil {
		return readapi.Page{}, err
	}
	query, err := sc.contactsQuery(q)
	if err != nil {
		return readapi.Page{}, err
	}
	limit := readapi.DefaultListLimit
	if n, ok := q.Limit(); ok {
		limit = n
	}
	keys := q.Order()
	cur, hasCursor := cursorOf(q)
	var after []types.FieldValue
	skip := q.Offset()
	if hasCursor {
		if after, err = searchAfter(keys, cur); err != nil {
			return readapi.Page{}, domain.InvalidField("cursor", "is not a valid cursor")
		}
		skip = 0
	}
	backward := hasCursor && cur.Backward
	rows, err := s.fetch(ctx, query, keys, backward, after, hasCursor && cur.Inclusive, skip, limit+1)
	if err != nil {
		return readapi.Page{}, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	mk := func(uuid string, vals []string, backward, inclusive bool) *string {
		c := readapi.EncodeCursor(readapi.Cursor{Values: vals, UUID: uuid, Backward: backward, Inclusive: inclusive, Hash: q.Hash()})
		return &c
	}
	page := readapi.Page{Results: make([]map[string]any, 0, len(rows))}
	for _, r := range rows {
		page.Results = append(page.Results, readapi.ContactResult(r.doc, q.View()))
	}
	switch {
	case len(rows) > 0:
		if !backward && more || backward && hasCursor {
			last := rows[len(rows)-1]
			page.Next = mk(last.uuid, last.order, false, false)
		}
		if backward && more || !backward && (hasCursor || q.Offset() > 0) {
			page.Previous = mk(rows[0].uuid, rows[0].order, true, false)
		}
	case hasCursor:
		if backward {
			page.Next = mk(cur.UUID, cur.Values, false, !cur.Inclusive)
		} else {
			page.Previous = mk(cur.UUID, cur.Values, true, !cur.Inclusive)
		}
	}
	return page, nil
}

// GetContact reads one contact of the account in real time; deleted and
// merged contacts read as not found.
func (s *Service) GetContact(ctx context.Context, accountID, uuid string) (projections.ContactDoc, bool, error) {
	if _, err := newScope(accountID); err != nil || !domain.IsUUID(uuid) {
		return projections.ContactDoc{}, false, nil
	}
	doc, ok, err := s.get.Contact(ctx, accountID, uuid)
	if err != nil || !ok || doc.AccountID != accountID || doc.Deleted || doc.MergedInto != "" {
		return projections.ContactDoc{}, false, err
	}
	return doc, true, nil
}

// CountContacts counts exactly (track_total_hits).
func (s *Service) CountContacts(ctx context.Context, accountID string, q readapi.Query) (int64, error) {
	sc, err := newScope(accountID)
	if err != nil {
		return 0, err
	}
	query, err := sc.contactsQuery(q)
	if err != nil {
		return 0, err
	}
	zero := 0
	res, err := s.es.Search().Index(s.index).Request(&search.Request{Query: query, Size: &zero, TrackTotalHits: true}).Do(ctx)
	if err != nil {
		return 0, fmt.Errorf("esquery: count contacts: %w", err)
	}
	if res.Hits.Total == nil {
		return 0, errors.New("esquery: count contacts: no total")
	}
	return res.Hits.Total.Value, nil
}

// ContactUUIDs returns the uuids of the matching contacts in q's ordering
// (all when q has no limit), after offset or the cursor.
func (s *Service) ContactUUIDs(ctx context.Context, accountID string, q readapi.Query) ([]string, error) {
	sc, err := newScope(accountID)
	if err != nil {
		return nil, err
	}
	if err := readapi.CheckCursor(q); err != nil {
		return nil, err
	}
	query, err := sc.contactsQuery(q)
	if err != nil {
		return nil, err
	}
	limit := -1
	if n, ok := q.Limit(); ok {
		limit = n
	}
	keys := q.Order()
	cur, hasCursor := cursorOf(q)
	var after []types.FieldValue
	skip := q.Offset()
	if hasCursor {
		if after, err = searchAfter(keys, cur); err != nil {
			return nil, domain.InvalidField("cursor", "is not a valid cursor")
		}
		skip = 0
	}
	backward := hasCursor && cur.Backward
	rows, err := s.fetch(ctx, query, keys, backward, after, hasCursor && cur.Inclusive, skip, limit)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.uuid
	}
	if backward {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// fieldValue reads a field action's value of a contact: a text, or a list
// (list true).
func fieldValue(f readapi.Field, d projections.ContactDoc) (text string, elems []string, list bool, ok bool) {
	c := d.Company
	co := func(get func(*projections.CompanyRef) string) string {
		if c == nil {
			return ""
		}
		return get(c)
	}
	coList := func(get func(*projections.CompanyRef) []string) []string {
		if c == nil {
			return nil
		}
		return get(c)
	}
	switch f {
	case readapi.FieldTitle:
		return d.Title, nil, false, true
	case readapi.FieldCompany:
		return co(func(c *projections.CompanyRef) string { return c.Name }), nil, false, true
	case readapi.FieldIndustry:
		return "", coList(func(c *projections.CompanyRef) []string { return c.Industries }), true, true
	case readapi.FieldKeyword:
		return "", coList(func(c *projections.CompanyRef) []string { return c.Keywords }), true, true
	case readapi.FieldTechnology:
		return "", coList(func(c *projections.CompanyRef) []string { return c.Technologies }), true, true
	case readapi.FieldCompanyAddress:
		return co(func(c *projections.CompanyRef) string { return c.TextSearch }), nil, false, true
	case readapi.FieldContactAddress:
		return d.TextSearch, nil, false, true
	case readapi.FieldCity:
		return d.City, nil, false, true
	case readapi.FieldState:
		return d.Region, nil, false, true
	case readapi.FieldCountry:
		return d.Country, nil, false, true
	case readapi.FieldCompanyCity:
		return co(func(c *projections.CompanyRef) string { return c.City }), nil, false, true
	case readapi.FieldCompanyState:
		return co(func(c *projections.CompanyRef) string { return c.Region }), nil, false, true
	case readapi.FieldCompanyCountry:
		return co(func(c *projections.CompanyRef) string { return c.Country }), nil, false, true
	}
	return "", nil, false, false
}

// fieldDoc is the document field of each field action (its search
// pre-filter).
var fieldDoc = map[readapi.Field]string{
	readapi.FieldTitle: "title", readapi.FieldCompany: "company.name", readapi.FieldIndustry: "company.industries",
	readapi.FieldKeyword: "company.keywords", readapi.FieldTechnology: "company.technologies",
	readapi.FieldCompanyAddress: "company.text_search", readapi.FieldContactAddress: "text_search",
	readapi.FieldCity: "city", readapi.FieldState: "state", readapi.FieldCountry: "country",
	readapi.FieldCompanyCity: "company.city", readapi.FieldCompanyState: "company.state", readapi.FieldCompanyCountry: "company.country",
}

// FieldValues answers a field action as readapi.PG.FieldValues does (see
// its comment for the rules).
func (s *Service) FieldValues(ctx context.Context, accountID string, field readapi.Field, q readapi.Query, opt readapi.FieldOptions) ([]string, error) {
	docField, ok := fieldDoc[field]
	if !ok {
		return nil, domain.InvalidField("field", fmt.Sprintf("unknown field %q", field))
	}
	sc, err := newScope(accountID)
	if err != nil {
		return nil, err
	}
	if opt.Offset < 0 || opt.Limit != nil && *opt.Limit < 0 {
		return nil, domain.InvalidField("limit", "limit and offset must not be negative")
	}
	search := strings.ToLower(strings.TrimSpace(opt.Search))
	query, err := sc.contactsQuery(q)
	if err != nil {
		return nil, err
	}
	pre := []types.Query{*query}
	if search != "" {
		pre = append(pre, wildcard(lower(docField), "*"+wildcardEscape(search)+"*"))
	} else {
		pre = append(pre, nonEmpty(lower(docField)))
	}
	query = &types.Query{Bool: &types.BoolQuery{Filter: pre}}
	has := func(v string) bool { return search == "" || strings.Contains(strings.ToLower(v), search) }
	var vals []string
	if _, _, list, _ := fieldValue(field, projections.ContactDoc{}); opt.Distinct && !opt.Separated && !list {
		if vals, err = s.distinctByAggregation(ctx, query, docField, search); err != nil {
			return nil, err
		}
		return page(vals, opt), nil
	}
	keys := q.Order()
	err = s.walk(ctx, query, sortOf(keys, false), nil, func(h types.Hit) (bool, error) {
		x, err := toHit(keys, h)
		if err != nil {
			return false, err
		}
		text, elems, list, _ := fieldValue(field, x.doc)
		switch {
		case !list && !opt.Separated:
			if text != "" && has(text) {
				vals = append(vals, text)
			}
		case !list:
			if !has(text) {
				break
			}
			for _, part := range strings.Split(text, ",") {
				part = strings.Trim(part, " ")
				if part != "" && has(part) {
					vals = append(vals, part)
				}
			}
		case opt.Separated:
			for _, e := range elems {
				if e != "" && has(e) {
					vals = append(vals, e)
				}
			}
		default:
			var parts []string
			hit := search == ""
			for _, e := range elems {
				if e != "" {
					parts = append(parts, e)
					hit = hit || has(e)
				}
			}
			if len(parts) > 0 && hit {
				vals = append(vals, strings.Join(parts, ", "))
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if opt.Distinct {
		vals = distinct(vals)
	}
	return page(vals, opt), nil
}

// page applies a field action's offset and limit, never returning nil.
func page(vals []string, opt readapi.FieldOptions) []string {
	if opt.Offset >= len(vals) {
		return []string{}
	}
	vals = vals[opt.Offset:]
	if opt.Limit != nil && *opt.Limit < len(vals) {
		vals = vals[:*opt.Limit]
	}
	return vals
}

// distinct keeps one spelling per lower-cased value, the first in byte
// order, sorted by the lower-cased value (PostgreSQL: min(v COLLATE "C")
// GROUP BY lower(v) ORDER BY lower(v), in a C.UTF-8 database).
func distinct(vals []string) []string {
	first := map[string]string{}
	for _, v := range vals {
		k := strings.ToLower(v)
		if cur, ok := first[k]; !ok || v < cur {
			first[k] = v
		}
	}
	keys := make([]string, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = first[k]
	}
	return out
}

// NewEngine is the read API's query side over the Elasticsearch read model
// of store.
func NewEngine(store *esstore.Store) readapi.Engine {
	return readapi.Engine{Service: New(store)}
}
