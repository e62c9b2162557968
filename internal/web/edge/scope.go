package edge

import (
	"net/http"
	"path"

	"github.com/gin-gonic/gin"

	"contacts/internal/auth"
)

// Scopes is the scope column of the route table: the scope an API key needs
// on each route, declared where the route is mounted (Edge.Read,
// Edge.Write). internal/web checks it before the route's other middleware
// (idempotency, the users-only rule) runs. It is filled while the router is
// built and only read afterwards.
type Scopes struct {
	need map[string]auth.Scope // "METHOD /full/path" → scope
}

// NewScopes returns an empty scope column.
func NewScopes() *Scopes { return &Scopes{need: map[string]auth.Scope{}} }

// For is the scope declared for a route: its method and full path as gin
// matched it (c.FullPath()).
func (s *Scopes) For(method, fullPath string) (auth.Scope, bool) {
	if s == nil {
		return 0, false
	}
	need, ok := s.need[method+" "+fullPath]
	return need, ok
}

// Scoped mounts routes on a group, each declaring the scope it needs.
type Scoped struct {
	g      *gin.RouterGroup
	scopes *Scopes
	need   auth.Scope
}

// On mounts routes on g that need the scope need.
func (s *Scopes) On(g *gin.RouterGroup, need auth.Scope) Scoped {
	return Scoped{g: g, scopes: s, need: need}
}

// Read mounts routes on g that only read: an API key needs read_contacts.
func (a Edge) Read(g *gin.RouterGroup) Scoped { return a.Scopes.On(g, auth.ScopeReadContacts) }

// Write mounts routes on g that write: an API key needs write_contacts.
func (a Edge) Write(g *gin.RouterGroup) Scoped { return a.Scopes.On(g, auth.ScopeWriteContacts) }

func (r Scoped) GET(p string, h ...gin.HandlerFunc)    { r.handle(http.MethodGet, p, h) }
func (r Scoped) POST(p string, h ...gin.HandlerFunc)   { r.handle(http.MethodPost, p, h) }
func (r Scoped) PUT(p string, h ...gin.HandlerFunc)    { r.handle(http.MethodPut, p, h) }
func (r Scoped) PATCH(p string, h ...gin.HandlerFunc)  { r.handle(http.MethodPatch, p, h) }
func (r Scoped) DELETE(p string, h ...gin.HandlerFunc) { r.handle(http.MethodDelete, p, h) }

func (r Scoped) handle(method, relative string, h []gin.HandlerFunc) {
	r.g.Handle(method, relative, h...)
	if r.scopes != nil {
		r.scopes.need[method+" "+joinPaths(r.g.BasePath(), relative)] = r.need
	}
}

// joinPaths is gin's own joining of a group's path and a route's (a
// trailing slash kept), so that the key is what c.FullPath() reports.
func joinPaths(absolute, relative string) string {
	if relative == "" {
		return absolute
	}
	final := path.Join(absolute, relative)
	if relative[len(relative)-1] == '/' && final[len(final)-1] != '/' {
		return final + "/"
	}
	return final
}
