package rest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"contacts/domain"
	"contacts/internal/apierr"
	"contacts/readapi"
)

func (rh *restHandler) mountLists(r *gin.RouterGroup) {
	for _, kind := range []readapi.ResourceKind{readapi.KindCompanies, readapi.KindGroups, readapi.KindLabels} {
		r.GET("/"+string(kind), rh.listResources(kind))
	}
}

func (rh *restHandler) listResources(kind readapi.ResourceKind) gin.HandlerFunc {
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

func restListOptions(c *gin.Context) (readapi.ListOptions, error) {
	o := readapi.ListOptions{Search: c.Query("search")}
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
		return o, invalid(bad)
	}
	return o, nil
}

// invalid is the validation error of bad list parameters, worded as the
// WebSocket's validation errors are ("Validation error: limit: …").
func invalid(fields map[string]string) error {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+fields[k])
	}
	return &domain.Error{Code: domain.CodeValidation, Message: "Validation error: " + strings.Join(parts, "; "),
		Fields: fields, Err: domain.ErrValidation}
}
