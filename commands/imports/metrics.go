package imports

import (
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

// NewMetrics registers the import metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
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
