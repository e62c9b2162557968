package database

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector reports a pgx pool's statistics (pgxpool.Stat) at each
// scrape: connections by state, acquisitions and their waits.
func PoolCollector(pool *pgxpool.Pool) prometheus.Collector { return poolCollector{pool} }

type poolCollector struct{ pool *pgxpool.Pool }

var (
	descConns = prometheus.NewDesc("contacts_db_pool_connections",
		"PostgreSQL pool connections, by state: idle, acquired, constructing.", []string{"state"}, nil)
	descMax = prometheus.NewDesc("contacts_db_pool_max_connections",
		"The pool's size (CONTACTS_DB_MAX_CONNS).", nil, nil)
	descAcquires = prometheus.NewDesc("contacts_db_pool_acquires_total",
		"Connections acquired from the pool.", nil, nil)
	descEmptyAcquires = prometheus.NewDesc("contacts_db_pool_empty_acquires_total",
		"Acquisitions that had to wait for a connection (none idle).", nil, nil)
	descAcquireWait = prometheus.NewDesc("contacts_db_pool_acquire_wait_seconds_total",
		"Time spent waiting for a connection, summed.", nil, nil)
	descCanceled = prometheus.NewDesc("contacts_db_pool_canceled_acquires_total",
		"Acquisitions canceled by their context.", nil, nil)
	descNew = prometheus.NewDesc("contacts_db_pool_new_connections_total",
		"Connections opened.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConns, descMax, descAcquires, descEmptyAcquires, descAcquireWait, descCanceled, descNew} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(descMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(descAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(descEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(descAcquireWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(descCanceled, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(descNew, prometheus.CounterValue, float64(s.NewConnsCount()))
}
