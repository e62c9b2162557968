package pgquery

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/readapi"
)

// PGLists is Lists over the PostgreSQL read model.
type PGLists struct{ pool *pgxpool.Pool }

// NewPGLists returns the lists over the PostgreSQL read model's tables.
func NewPGLists(pool *pgxpool.Pool) *PGLists { return &PGLists{pool: pool} }

var restListSQL = map[readapi.ResourceKind]struct{ table, name, doc string }{
	readapi.KindCompanies: {"rm_companies", "name", "doc"},
	readapi.KindGroups:    {"rm_groups", "name", "doc"},
	// A label's usage count, as the label read answers it: the live
	// contacts whose labels (lower-cased JSON text) hold the title.
	readapi.KindLabels: {"rm_labels", "title", `jsonb_set(doc, '{usage_count}', to_jsonb((SELECT count(*) FROM rm_contacts c
		WHERE c.account_id = t.account_id AND NOT c.hidden AND c.labels LIKE '%' ||
			replace(replace(replace(to_jsonb(lower(t.title))::text, '\', '\\'), '%', '\%'), '_', '\_') || '%')))`},
}

// ListResources reads one page and the number of matches.
func (l *PGLists) ListResources(ctx context.Context, accountID string, kind readapi.ResourceKind, o readapi.ListOptions) (int64, []json.RawMessage, error) {
	s, ok := restListSQL[kind]
	if !ok {
		return 0, nil, fmt.Errorf("readapi: no list of %q", kind)
	}
	limit := int64(-1)
	if o.Limit != nil {
		limit = int64(*o.Limit)
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(o.Search)) + "%"
	where := fmt.Sprintf(`FROM %[1]s AS t WHERE t.account_id = $1::uuid AND NOT t.deleted
		AND lower(coalesce(t.%[2]s, '')) LIKE $2`, s.table, s.name)
	var total int64
	if err := l.pool.QueryRow(ctx, `SELECT count(*) `+where, accountID, pattern).Scan(&total); err != nil {
		return 0, nil, err
	}
	rows, err := l.pool.Query(ctx, fmt.Sprintf(`SELECT %s %s ORDER BY lower(t.%s), t.id
		LIMIT CASE WHEN $3::bigint < 0 THEN NULL ELSE $3::bigint END OFFSET $4`, s.doc, where, s.name),
		accountID, pattern, limit, o.Offset)
	if err != nil {
		return 0, nil, err
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
		var doc []byte
		err := r.Scan(&doc)
		return doc, err
	})
	if err != nil {
		return 0, nil, err
	}
	if docs == nil {
		docs = []json.RawMessage{}
	}
	return total, docs, nil
}

// mountLists adds GET /companies, /groups and /labels.
