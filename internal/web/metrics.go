package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"contacts/internal/web/edge"
)

// Metrics measure the HTTP edge: requests, rate limiting, authentication
// failures, bulk upserts and exports. Every label is bounded: the route is
// gin's template (FullPath: "/api/v1/contacts/:id", never the path, which
// carries ids), methods outside the standard ones are "OTHER", statuses are
// classes ("2xx"), limiters and failure kinds are fixed sets (error codes of
// internal/apierr's table). Deps.Metrics nil: nothing is measured and the
// middleware is not mounted.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	authFailed  *prometheus.CounterVec
	bulk        *prometheus.CounterVec
	bulkRows    *prometheus.CounterVec
	exports     *prometheus.CounterVec
	exportBytes prometheus.Counter
}

// NewMetrics registers the HTTP edge's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contacts_http_request_duration_seconds",
			Help: "Time from the request's arrival to its handler's return, by route template and method " +
				"(a WebSocket's: the whole connection).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "contacts_http_requests_in_flight",
			Help: "HTTP requests being handled (open WebSocket connections included).",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_rate_limited_total",
			Help: "Requests (and WebSocket messages) refused by a rate limiter: ip, principal, auth_ip, login.",
		}, []string{"limiter"}),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_auth_failures_total",
			Help: "Requests refused 401 or 403, by error code (unauthorized, invalid_credentials, invalid_token, forbidden, insufficient_scope, …).",
		}, []string{"kind"}),
		bulk: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_bulk_upserts_total",
			Help: "POST /contacts/bulk requests, by outcome: ok or error.",
		}, []string{"outcome"}),
		bulkRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_bulk_upsert_rows_total",
			Help: "Contacts of bulk upserts, by result: created, updated, skipped, failed.",
		}, []string{"result"}),
		exports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_exports_total",
			Help: "CSV exports, by outcome: ok, error (refused before streaming) or aborted (failed mid-stream).",
		}, []string{"outcome"}),
		exportBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_export_bytes_total",
			Help: "Bytes of CSV streamed by exports.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.rateLimited, m.authFailed, m.bulk, m.bulkRows, m.exports, m.exportBytes)
	return m
}

// Rate limiter names (the limiter label).
const (
	limiterIP        = "ip"
	limiterPrincipal = "principal"
	limiterAuthIP    = "auth_ip"
	limiterLogin     = "login"
)

// measure counts and times every request under its route template.
func (a *api) measure(c *gin.Context) {
	m := a.Metrics
	start := time.Now()
	m.inFlight.Inc()
	defer m.inFlight.Dec()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	method := metricMethod(c.Request.Method)
	status := c.Writer.Status()
	m.requests.WithLabelValues(route, method, statusClass(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		kind := c.GetString(edge.CtxErrorCode)
		if kind == "" { // answered outside the error table (the WebSocket upgrade's own 401)
			kind = "status_" + strconv.Itoa(status)
		}
		m.authFailed.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) limited(limiter string) {
	if m != nil {
		m.rateLimited.WithLabelValues(limiter).Inc()
	}
}

// bulkUpserted counts a bulk upsert's rows (commands/rest.Routes.Observe).
func (m *Metrics) bulkUpserted(err error, created, updated, skipped, failed int) {
	if m == nil {
		return
	}
	if err != nil {
		m.bulk.WithLabelValues("error").Inc()
		return
	}
	m.bulk.WithLabelValues("ok").Inc()
	m.bulkRows.WithLabelValues("created").Add(float64(created))
	m.bulkRows.WithLabelValues("updated").Add(float64(updated))
	m.bulkRows.WithLabelValues("skipped").Add(float64(skipped))
	m.bulkRows.WithLabelValues("failed").Add(float64(failed))
}

func (m *Metrics) exported(outcome string, bytes int) {
	if m == nil {
		return
	}
	m.exports.WithLabelValues(outcome).Inc()
	if bytes > 0 {
		m.exportBytes.Add(float64(bytes))
	}
}

// metricMethod is the method label: a client can send any token as a
// method, so only the standard ones are kept.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

func statusClass(s int) string {
	switch {
	case s < 200:
		return "1xx"
	case s < 300:
		return "2xx"
	case s < 400:
		return "3xx"
	case s < 500:
		return "4xx"
	}
	return "5xx"
}
