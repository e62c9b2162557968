// Package web is the HTTP edge: router assembly (every side's routes, each
// account route twice), authentication, the write endpoints for every
// command, health checks, and the plumbing they share (request ids, logging,
// body limits, idempotency keys, one error format). It is the one package
// under internal/ that may import commands, projections and readapi
// (layout_test.go).
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/commands/rest"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/accounts/accountroutes"
	"contacts/internal/phonereview"
	"contacts/internal/web/edge"
	"contacts/projections"
	"contacts/readapi"
	readrest "contacts/readapi/rest"
	"contacts/readapi/ws"
)

// Store is what the API reads from the event store directly: Idempotency-Key
// reservations and stored answers, and a stream's history.
type Store interface {
	ReserveIdempotencyKey(ctx context.Context, accountID, key, hash, owner string, lease time.Duration) (bool, error)
	ExtendIdempotencyKey(ctx context.Context, accountID, key, owner string, lease time.Duration) (bool, error)
	ReleaseIdempotencyKey(ctx context.Context, accountID, key, owner string) error
	LookupIdempotency(ctx context.Context, accountID, key string) (*eventstore.IdempotentResponse, error)
	SaveIdempotentResponse(ctx context.Context, accountID, key, owner string, resp eventstore.IdempotentResponse) error
	ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]eventstore.Event, error)
}

var _ Store = (*eventstore.Store)(nil)

// Progress is where projection progress is read from: the store-wide
// figures for operators, one account's for everyone else.
type Progress interface {
	projections.StatusSource
	AccountProgress(ctx context.Context, accountID string, positions []int64) (head int64, reached, behind []int64, err error)
}

// Pinger reports whether the database answers (for /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the router needs.
type Deps struct {
	Commands     *commands.Handlers
	Auth         *accounts.Service
	Store        Store
	DB           Pinger
	Progress     Progress // projection checkpoints, the event store's head and an account's
	Logger       *slog.Logger
	MaxBodyBytes int64

	// OperatorAccounts are the accounts whose administrators see the
	// store-wide projection figures (CONTACTS_OPERATOR_ACCOUNTS); everyone
	// else sees their own account's.
	OperatorAccounts []string
	// RequestLogLevel is the level of the one line logged per request (the
	// zero value: info); RequestLogOff logs none (CONTACTS_REQUEST_LOG).
	RequestLogLevel slog.Level
	RequestLogOff   bool
	// IdempotencyLease is how long an Idempotency-Key reservation lasts
	// unless its request extends it (default 30s): a crashed process's keys
	// are free again after it. IdempotencyWait is how long a request waits
	// for another one with the same key (default 10s).
	IdempotencyLease, IdempotencyWait time.Duration

	// Limits are the rate limits; the zero value limits nothing.
	Limits Limits
	// TrustedProxies may set X-Forwarded-For (CIDRs or IPs); none by default:
	// the client IP is the connection's.
	TrustedProxies []string
	// Read, when set, mounts the read API: its REST routes on the
	// authenticated group and WS /api/v1/contacts/ws (which authenticates
	// itself from ?token=). Its Commands, Auth and Logger default to the
	// ones above.
	Read *ws.Deps
	// Imports, when set, mounts the CSV import routes (POST
	// /contacts/import, status, errors, error CSV); ImportMaxBytes is its
	// file size limit. BulkMaxBodyBytes is the body limit of POST
	// /contacts/bulk (default MaxBodyBytes). Export, when set, mounts POST
	// /contacts/export.
	Imports          *imports.Service
	ImportMaxBytes   int64
	BulkMaxBodyBytes int64
	Export           Exporter
	// Metrics, when set, measures every request (metrics.go);
	// MetricsHandler, when set, answers GET /metrics (the Prometheus
	// scrape; unset when CONTACTS_METRICS_ADDR serves it elsewhere).
	Metrics        *Metrics
	MetricsHandler http.Handler
	// PhoneReview, when set, mounts GET /phone_review and POST
	// /phone_review/scan (administrators): stored phone numbers that were
	// probably misread.
	PhoneReview *phonereview.Service
}

// Exporter streams contacts as CSV.
type Exporter = readapi.Exporter

// The import service answers the WebSocket import actions.
var _ readapi.Imports = (*imports.Service)(nil)

type api struct {
	Deps
	// scopes is the scope column of the route table, filled as the routes
	// are mounted (edge.Edge.Read/Write) and read by requireScope.
	scopes *edge.Scopes
	// trusted are the proxies whose X-Request-Id is taken (TrustedProxies).
	trusted []netip.Prefix
}

// configureGin sets gin's process-wide settings, once, when the first router
// is built (not in init: importing the package changes nothing).
var configureGin = sync.OnceFunc(func() {
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
})

// validate reports every required dependency d lacks. Read, Imports,
// Export and PhoneReview are optional: each mounts its routes when set.
func (d Deps) validate() error {
	var errs []error
	for _, req := range []struct {
		name string
		ok   bool
	}{
		{"Commands", d.Commands != nil},
		{"Auth", d.Auth != nil},
		{"Store", d.Store != nil},
		{"DB", d.DB != nil},
		{"Progress", d.Progress != nil},
		{"Logger", d.Logger != nil},
		{"MaxBodyBytes", d.MaxBodyBytes > 0},
	} {
		if !req.ok {
			errs = append(errs, fmt.Errorf("web: Deps.%s is required", req.name))
		}
	}
	if d.Read != nil && d.Read.Service == nil {
		errs = append(errs, errors.New("web: Deps.Read.Service is required when the read API is mounted"))
	}
	return errors.Join(errs...)
}

// New builds the HTTP handler, or reports the required dependencies d
// lacks (Deps.validate) or trusted proxies gin does not accept.
//
// Every account-scoped route is mounted twice: under /api/v1 (the account is
// the token's, or the one an organization-id header names) and under
// /api/v1/accounts/:account_id (the account in the path). Either must be an
// account of the caller's, or the answer is 403/404 with no data.
func New(d Deps) (http.Handler, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	r, _, err := newRouter(d)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// newRouter builds the router and the api whose route table it fills. It
// does not check the dependencies: tests build partial routers with it.
func newRouter(d Deps) (*gin.Engine, *api, error) {
	configureGin()
	a := &api{Deps: d, scopes: edge.NewScopes(), trusted: parseTrusted(d.TrustedProxies)}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Client IPs (rate limits) come from the connection unless the request
	// went through a proxy we trust to set X-Forwarded-For.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, nil, fmt.Errorf("web: trusted proxies: %w", err)
	}
	r.Use(a.requestID)
	if d.Metrics != nil {
		r.Use(a.measure)
	}
	r.Use(a.accessLog, a.recover, a.limitIP, a.limitBody, a.checkText)
	r.NoRoute(func(c *gin.Context) { a.fail(c, errNotFoundRoute) })
	r.NoMethod(func(c *gin.Context) { a.fail(c, errMethodNotAllowed) })

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.ready)
	if d.MetricsHandler != nil {
		r.GET("/metrics", gin.WrapH(d.MetricsHandler))
	}

	v1 := r.Group("/api/v1", notModified)
	v1.GET("/openapi.json", readrest.OpenAPIHandler)
	authGroup := v1.Group("/auth", a.throttleAuth)
	a.accountRoutesOf().MountAuth(authGroup)

	// The caller's own user: no account data.
	me := v1.Group("", a.authenticate, a.rateLimit, a.accountFromHeader)
	a.accountRoutesOf().MountSelf(me)

	read := a.readDeps()
	// Uploads and exports stream: they skip the idempotency middleware,
	// which buffers bodies.
	stream := v1.Group("", a.authenticate, a.rateLimit, a.accountFromHeader, a.requireScope)
	p := stream.Group("", a.idempotency)
	a.accountRoutes(p, stream, "/account", read)
	a.edge().Read(p).GET("/projections", a.projectionStatus)
	accStream := v1.Group("/accounts/:account_id", a.authenticate, a.rateLimit, a.accountFromPath, a.requireScope)
	a.accountRoutes(accStream.Group("", a.idempotency), accStream, "", read)
	if read != nil {
		// Each action checks the key's scopes (a write-only key may still
		// create_contact), so the upgrade needs none.
		contactsWS := ws.WebSocketHandler(*read)
		v1.GET("/contacts/ws", a.authenticateWS, a.rateLimit, a.accountFromHeader, contactsWS)
		v1.GET("/accounts/:account_id/contacts/ws", a.authenticateWS, a.rateLimit, a.accountFromPath, contactsWS)
		// Live updates, listen-only; the stream itself needs read_contacts.
		live := ws.StreamHandler(*read)
		v1.GET("/stream", a.authenticateWS, a.rateLimit, a.accountFromHeader, live)
		v1.GET("/accounts/:account_id/stream", a.authenticateWS, a.rateLimit, a.accountFromPath, live)
	}
	return r, a, nil
}

// NewRouter is New for dependencies known to be complete (tests): it
// panics on what New reports.
func NewRouter(d Deps) http.Handler {
	h, err := New(d)
	if err != nil {
		panic(err)
	}
	return h
}

// accountRoutes mounts every route of one account's data and administration
// on g; self is the path of the account itself within g. New account-scoped
// routes belong here, so that both ways of naming the account reach them.
// stream is g without the idempotency middleware (for streamed bodies).
func (a *api) accountRoutes(g, stream *gin.RouterGroup, self string, read *ws.Deps) {
	a.importRoutes(stream, g)
	a.commandRoutes().Mount(g)
	if read != nil {
		readrest.Mount(a.edge().Read(g), readrest.Deps{Service: read.Service, Lists: read.Lists, Logger: read.Logger})
	}
	a.accountRoutesOf().MountAdmin(g.Group("", a.requireUser), self)
	a.phoneReviewRoutes(g)
}

// accountRoutesOf are the account routes (internal/accounts/accountroutes).
func (a *api) accountRoutesOf() *accountroutes.Routes {
	return &accountroutes.Routes{Edge: a.edge(), Auth: a.Auth, ThrottleLogin: a.throttleLogin, RequireUser: a.requireUser}
}

// commandRoutes are the REST command routes (commands/rest).
func (a *api) commandRoutes() *rest.Routes {
	return &rest.Routes{Edge: a.edge(), Commands: a.Commands, Auth: a.Auth, Store: a.Store, Observe: a.Metrics.bulkUpserted}
}

// readDeps fills the read API's unset dependencies from the router's.
func (a *api) readDeps() *ws.Deps {
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
	if d.Limit == nil && a.Limits.PerPrincipal != nil {
		d.Limit = a.takeToken
	}
	if d.Recheck == nil && a.Auth != nil {
		d.Recheck = a.Auth.Recheck
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
