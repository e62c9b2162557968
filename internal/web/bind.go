package web

import (
	"io"

	"github.com/gin-gonic/gin"

	"contacts/commands/rest"
	"contacts/internal/auth"
	"contacts/internal/web/edge"
)

// The edge helpers (internal/web/edge), as this package's routes call them.

// phoneRegionParam: see rest.PhoneRegionParam.
const phoneRegionParam = rest.PhoneRegionParam

const (
	ctxRequestID = edge.CtxRequestID
	ctxPrincipal = edge.CtxPrincipal
)

var (
	errForbidden = edge.ErrForbidden
	errTooLarge  = edge.ErrTooLarge
)

func (a *api) fail(c *gin.Context, err error)           { a.edge().Fail(c, err) }
func (a *api) bindJSON(c *gin.Context, dst any) bool    { return a.edge().BindJSON(c, dst) }
func (a *api) readObject(c *gin.Context) ([]byte, bool) { return a.edge().ReadObject(c) }
func (a *api) decodeObject(c *gin.Context) (map[string]any, bool) {
	return a.edge().DecodeObject(c)
}
func (a *api) pathID(c *gin.Context, name string) (string, bool) { return a.edge().PathID(c, name) }
func (a *api) ifMatch(c *gin.Context) (*int64, bool)             { return a.edge().IfMatch(c) }
func (a *api) requireAdmin(c *gin.Context)                       { a.edge().RequireAdmin(c) }
func (a *api) edge() edge.Edge                                   { return edge.Edge{Logger: a.Logger} }

func principal(c *gin.Context) auth.Principal { return edge.Principal(c) }

func readJSONBody(r io.Reader, object bool) ([]byte, error) { return edge.ReadJSONBody(r, object) }
func readObjectBody(r io.Reader) ([]byte, error)            { return edge.ReadObjectBody(r) }
func bindError(err error) error                             { return edge.BindError(err) }
func respond(c *gin.Context, status int, version int64, body any) {
	edge.Respond(c, status, version, body)
}
func lower(s string) string          { return edge.Lower(s) }
func notFound(kind, id string) error { return edge.NotFound(kind, id) }
