package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkRequestMetrics is the per-request cost of the HTTP metrics: the
// router's whole middleware chain on GET /healthz, without and with them
// (go test ./internal/web -run '^$' -bench RequestMetrics).
func BenchmarkRequestMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			d := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RequestLogOff: true, MaxBodyBytes: 1 << 20}
			if on {
				d.Metrics = NewMetrics(prometheus.NewRegistry())
			}
			r, _, err := newRouter(d)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/healthz", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
