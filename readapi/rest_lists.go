package readapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/internal/apierr"
)

// ResourceKind names a listable read model.
type ResourceKind string

// The lists of GET /api/v1/companies, /groups and /labels.
const (
	KindCompanies ResourceKind = "companies"
	KindGroups    ResourceKind = "groups"
	KindLabels    ResourceKind = "labels"
)

// ListOptions are a resource list's parameters.
type ListOptions struct {
	Search string // case-insensitive substring of the name (labels: the title)
	Limit  *int   // nil: all
	Offset int
}

// Lists lists an account's companies, groups or labels (live ones, by name)
// from the read models: the documents GET /<kind>/:id answers, as stored.
type Lists interface {
	ListResources(ctx context.Context, accountID string, kind ResourceKind, o ListOptions) (total int64, docs []json.RawMessage, err error)
}

// PGLists is Lists over the PostgreSQL read model.
type PGLists struct{ pool *pgxpool.Pool }

// NewPGLists returns the lists over the PostgreSQL read model's tables.
func NewPGLists(pool *pgxpool.Pool) *PGLists { return &PGLists{pool: pool} }

var restListSQL = map[ResourceKind]struct{ table, name, doc string }{
	KindCompanies: {"rm_companies", "name", "doc"},
	KindGroups:    {"rm_groups", "name", "doc"},
	// A label's usage count, as the label read answers it: the live
	// contacts whose labels (lower-cased JSON text) hold the title.
	KindLabels: {"rm_labels", "title", `jsonb_set(doc, '{usage_count}', to_jsonb((SELECT count(*) FROM rm_contacts c
		WHERE c.account_id = t.account_id AND NOT c.hidden AND c.labels LIKE '%' ||
			replace(replace(replace(to_jsonb(lower(t.title))::text, '\', '\\'), '%', '\%'), '_', '\_') || '%')))`},
}

// ListResources reads one page and the number of matches.
func (l *PGLists) ListResources(ctx context.Context, accountID string, kind ResourceKind, o ListOptions) (int64, []json.RawMessage, error) {
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
func (rh *restHandler) mountLists(r *gin.RouterGroup) {
	for _, kind := range []ResourceKind{KindCompanies, KindGroups, KindLabels} {
		r.GET("/"+string(kind), rh.listResources(kind))
	}
}

func (rh *restHandler) listResources(kind ResourceKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := restPrincipal(c)
		if !ok {
			rh.fail(c, apierr.New(http.StatusUnauthorized, "unauthorized", "a valid access token is required (Authorization: Bearer <token>)"))
			return
		}
		if rh.deps.Lists == nil {
			rh.fail(c, apierr.New(http.StatusNotImplemented, "not_implemented", "listing "+string(kind)+" is not available with this read model"))
			return
		}
		o, err := restListOptions(c)
		if err != nil {
			rh.fail(c, err)
			return
		}
		total, docs, err := rh.deps.Lists.ListResources(c.Request.Context(), p.AccountID, kind, o)
		if err != nil {
			rh.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"count": total, "results": docs})
	}
}

func restListOptions(c *gin.Context) (ListOptions, error) {
	o := ListOptions{Search: c.Query("search")}
	bad := map[string]string{}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			bad["limit"] = "must be a whole number ≥ 1"
		} else {
			o.Limit = &n
		}
	}
	if s, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			bad["offset"] = "must be a whole number ≥ 0"
		} else {
			o.Offset = n
		}
	}
	if len(bad) > 0 {
		return o, wsInvalid(bad)
	}
	return o, nil
}
