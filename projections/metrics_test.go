package projections

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"contacts/eventstore"
)

type failingHandler struct{ fail bool }

func (h *failingHandler) Name() string { return "contacts" }
func (h *failingHandler) Handle(context.Context, []eventstore.Event) error {
	if h.fail {
		return errors.New("read model down (test)")
	}
	return nil
}

// Measured times each batch, counts its events and its failures, under the
// projection's name; without metrics it is the handler itself.
func TestMeasuredCountsBatchesAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(context.Background(), reg, nil, nil)
	h := &failingHandler{}
	if Measured(h, nil) != Handler(h) {
		t.Fatal("Measured without metrics wraps")
	}
	mh := Measured(h, m)
	if mh.Name() != "contacts" {
		t.Fatalf("name %q", mh.Name())
	}
	ctx := context.Background()
	_ = mh.Handle(ctx, make([]eventstore.Event, 3))
	h.fail = true
	if err := mh.Handle(ctx, make([]eventstore.Event, 2)); err == nil {
		t.Fatal("the failure was swallowed")
	}
	if got := testutil.ToFloat64(m.events.WithLabelValues("contacts")); got != 5 {
		t.Errorf("events: %v", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("contacts")); got != 1 {
		t.Errorf("errors: %v", got)
	}
	if got := testutil.CollectAndCount(m.batch); got != 1 {
		t.Errorf("batch histogram series: %v", got)
	}
}
