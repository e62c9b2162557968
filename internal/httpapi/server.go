// Package httpapi is the REST API: authentication, the write endpoints for
// every command, health checks, and the plumbing they share (request ids,
// logging, body limits, idempotency keys, one error format).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/projections"
	"contacts/readapi"
)

// Store is what the API reads from the event store directly: stored
// idempotent responses and a stream's history.
type Store interface {
	LookupIdempotency(ctx context.Context, accountID, key string) (*eventstore.IdempotentResponse, error)
	SaveIdempotentResponse(ctx context.Context, accountID, key string, status int, body []byte) error
	ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]eventstore.Event, error)
}

var _ Store = (*eventstore.Store)(nil)

// Pinger reports whether the database answers (for /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the router needs.
type Deps struct {
	Commands     *commands.Handlers
	Auth         *auth.Service
	Store        Store
	DB           Pinger
	Progress     projections.StatusSource // projection checkpoints and the event store head
	Logger       *slog.Logger
	MaxBodyBytes int64
	// Read, when set, mounts the read API: its REST routes on the
	// authenticated group and WS /api/v1/contacts/ws (which authenticates
	// itself from ?token=). Its Commands, Auth and Logger default to the
	// ones above.
	Read *readapi.Deps
}

type api struct {
	Deps
}

func init() {
	gin.SetMode(gin.ReleaseMode)
	// Unknown JSON fields are errors, not silently dropped input.
	binding.EnableDecoderDisallowUnknownFields = true
	// Validation errors name fields as clients spell them (the JSON tag).
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				return f.Name
			}
			return name
		})
	}
}

// NewRouter builds the HTTP handler.
func NewRouter(d Deps) http.Handler {
	a := &api{Deps: d}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(a.requestID, a.accessLog, a.recover, a.limitBody)
	r.NoRoute(func(c *gin.Context) { a.fail(c, errNotFoundRoute) })
	r.NoMethod(func(c *gin.Context) { a.fail(c, errMethodNotAllowed) })

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.ready)

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.json", readapi.OpenAPIHandler)
	read := a.readDeps()
	if read != nil {
		v1.GET("/contacts/ws", readapi.WebSocketHandler(*read))
		v1.GET("/stream", readapi.StreamHandler(*read)) // live updates, listen-only (authenticates itself from ?token=)
	}
	authGroup := v1.Group("/auth")
	authGroup.POST("/register", a.register)
	authGroup.POST("/login", a.login)
	authGroup.POST("/refresh", a.refresh)

	p := v1.Group("", a.authenticate, a.idempotency)
	a.contactRoutes(p)
	a.companyRoutes(p)
	a.groupRoutes(p)
	a.labelRoutes(p)
	p.GET("/projections", a.projectionStatus)
	if read != nil {
		readapi.Mount(p, *read)
	}
	return r
}

// readDeps fills the read API's unset dependencies from the router's.
func (a *api) readDeps() *readapi.Deps {
	if a.Read == nil {
		return nil
	}
	d := *a.Read
	if d.Commands == nil {
		d.Commands = a.Commands
	}
	if d.Auth == nil && a.Auth != nil {
		d.Auth = a.Auth
	}
	if d.Logger == nil {
		d.Logger = a.Logger
	}
	return &d
}

func (a *api) ready(c *gin.Context) {
	if err := a.DB.Ping(c.Request.Context()); err != nil {
		a.Logger.WarnContext(c.Request.Context(), "readiness check failed", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "database"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
