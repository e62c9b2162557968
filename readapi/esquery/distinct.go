package esquery

import (
	"context"
	"fmt"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	"contacts/projections/esstore"
)

// distinctByAggregation answers a distinct field action on a text field
// (not separated) with a composite aggregation over the ".lower" subfield:
// one bucket per lower-cased value, in byte order (PostgreSQL's ORDER BY
// lower(v) under the C.UTF-8 collation), each with the smallest spelling of
// the ".raw" subfield (PostgreSQL's min(v COLLATE "C")). A search keeps the
// values holding it (checked on the bucket key: the documents are
// pre-filtered by query, so only their values are counted).
func (s *Service) distinctByAggregation(ctx context.Context, query *types.Query, docField, needle string) ([]string, error) {
	keyField, rawField := lower(docField), docField+"."+esstore.RawSubfield
	size, one, zero := 1000, 1, 0
	var after types.CompositeAggregateKey
	var out []string
	for {
		res, err := s.es.Search().Index(s.index).Request(&search.Request{
			Query: query, Size: &zero, TrackTotalHits: false,
			Aggregations: map[string]types.Aggregations{"values": {
				Composite: &types.CompositeAggregation{
					Sources: []map[string]types.CompositeAggregationSource{{"v": {Terms: &types.CompositeTermsAggregation{Field: &keyField}}}},
					Size:    &size,
					After:   after,
				},
				Aggregations: map[string]types.Aggregations{"first": {Terms: &types.TermsAggregation{
					Field: &rawField, Size: &one, Order: map[string]sortorder.SortOrder{"_key": sortorder.Asc},
				}}},
			}},
		}).Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("esquery: distinct %s: %w", docField, err)
		}
		agg, ok := res.Aggregations["values"].(*types.CompositeAggregate)
		if !ok {
			return nil, fmt.Errorf("esquery: distinct %s: no composite aggregate", docField)
		}
		buckets, _ := agg.Buckets.([]types.CompositeBucket)
		for _, b := range buckets {
			key, _ := b.Key["v"].(string)
			if key == "" || needle != "" && !strings.Contains(key, needle) {
				continue
			}
			first, ok := b.Aggregations["first"].(*types.StringTermsAggregate)
			if !ok {
				return nil, fmt.Errorf("esquery: distinct %s: no spelling of %q", docField, key)
			}
			spellings, _ := first.Buckets.([]types.StringTermsBucket)
			if len(spellings) == 0 {
				return nil, fmt.Errorf("esquery: distinct %s: no spelling of %q", docField, key)
			}
			v, _ := spellings[0].Key.(string)
			out = append(out, v)
		}
		if len(buckets) < size || agg.AfterKey == nil {
			return out, nil
		}
		after = agg.AfterKey
	}
}
