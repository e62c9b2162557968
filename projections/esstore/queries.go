package esstore

import (
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"
)

// pageSize is the page of the searches that walk documents (search_after).
const pageSize = 1000

func term(field string, value types.FieldValue) types.Query {
	return types.Query{Term: map[string]types.TermQuery{field: {Value: value}}}
}

func terms(field string, values []string) types.Query {
	vs := make([]types.FieldValue, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return types.Query{Terms: &types.TermsQuery{TermsQuery: map[string]types.TermsQueryField{field: vs}}}
}

func sortBy(field string) []types.SortCombinations {
	return []types.SortCombinations{types.SortOptions{SortOptions: map[string]types.FieldSort{
		field: {Order: &sortorder.Asc},
	}}}
}

// groupsOfContactsQuery finds the live groups of the given accounts listing
// any of contactIDs as members. Each contact also has a named clause (its id
// as the name), so a hit's matched_queries tell which of the contacts the
// group lists, without fetching member lists of up to 50,000 ids. Pages are
// walked with search_after on the group id.
func groupsOfContactsQuery(accountIDs, contactIDs []string, after []types.FieldValue) *search.Request {
	should := make([]types.Query, len(contactIDs))
	for i, id := range contactIDs {
		name := id
		should[i] = types.Query{Term: map[string]types.TermQuery{"contact_ids": {Value: id, QueryName_: &name}}}
	}
	size := pageSize
	return &search.Request{
		Query: &types.Query{Bool: &types.BoolQuery{
			Filter: []types.Query{
				terms("account_id", accountIDs),
				terms("contact_ids", contactIDs),
				term("deleted", false),
			},
			Should: should,
		}},
		Source_:        types.SourceFilter{Includes: []string{"id", "account_id", "name", "deleted"}},
		Sort:           sortBy("id"),
		SearchAfter:    after,
		Size:           &size,
		TrackTotalHits: false,
	}
}

// companyContactsQuery finds the contacts of the given accounts that point
// at, or show, any of companyIDs (only their ids: the reconcile reads them
// itself). Pages are walked with search_after on the contact uuid.
func companyContactsQuery(accountIDs, companyIDs []string, after []types.FieldValue) *search.Request {
	size := pageSize
	one := types.MinimumShouldMatch(1)
	return &search.Request{
		Query: &types.Query{Bool: &types.BoolQuery{
			Filter: []types.Query{
				terms("account_id", accountIDs),
				{Bool: &types.BoolQuery{
					Should:             []types.Query{terms("company_id", companyIDs), terms("company.id", companyIDs)},
					MinimumShouldMatch: one,
				}},
			},
		}},
		Source_:        false,
		Sort:           sortBy("uuid"),
		SearchAfter:    after,
		Size:           &size,
		TrackTotalHits: false,
	}
}

// matchedQueries returns the names of a hit's matched named queries.
func matchedQueries(hit types.Hit) []string {
	switch m := hit.MatchedQueries.(type) {
	case []string:
		return m
	case []any:
		out := make([]string, 0, len(m))
		for _, v := range m {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case map[string]types.Float64: // include_named_queries_score=true
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		return out
	case map[string]any:
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	return nil
}

// labelUsageQuery counts the account's live contacts carrying title.
func labelUsageQuery(accountID, title string) *types.Query {
	return &types.Query{Bool: &types.BoolQuery{
		Filter: []types.Query{
			term("account_id", accountID),
			term("labels", title),
			term("deleted", false),
			term("merged_into", ""),
		},
	}}
}
