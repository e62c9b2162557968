package imports

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"contacts/commands"
)

// Metrics count CSV import jobs and their rows. Labels are fixed sets (a
// job's status, a row's result); nothing per account or job. Rows per
// second is rate(contacts_import_rows_total[1m]). A nil *Metrics
// (Config.Metrics unset) counts nothing.
type Metrics struct {
	jobs *prometheus.CounterVec
	rows *prometheus.CounterVec
}

// NewMetrics registers the import metrics with reg; with pool set, the jobs
// not finished yet (queued or running, store-wide) are counted at each
// scrape, within 5 s, under ctx (the process's).
func NewMetrics(ctx context.Context, reg prometheus.Registerer, pool *pgxpool.Pool) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_import_jobs_total",
			Help: "CSV import jobs by the status they reached: created (uploaded), completed, failed.",
		}, []string{"status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_import_rows_total",
			Help: "CSV import rows committed, by result: imported (created, updated or unchanged) or failed.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.jobs, m.rows)
	if pool != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "contacts_import_jobs_open",
			Help: "CSV import jobs not finished yet (queued, running or waiting to retry), store-wide; -1 when the database did not answer.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var n int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM import_jobs WHERE open`).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	for _, s := range []string{"created", "completed", "failed"} {
		m.jobs.WithLabelValues(s)
	}
	m.rows.WithLabelValues("imported")
	m.rows.WithLabelValues("failed")
	return m
}

func (m *Metrics) job(status string) {
	if m != nil {
		m.jobs.WithLabelValues(status).Inc()
	}
}

func (m *Metrics) batch(rows []commands.RowResult) {
	if m == nil {
		return
	}
	failed := 0
	for _, r := range rows {
		if r.Outcome == commands.OutcomeFailed {
			failed++
		}
	}
	m.rows.WithLabelValues("imported").Add(float64(len(rows) - failed))
	m.rows.WithLabelValues("failed").Add(float64(failed))
}
