package eventstore_test

import (
	"context"
	"runtime"
	"testing"

	"contacts/eventstore"
)

// BenchmarkAppendBatched appends batches of 500 events to one stream.
//
//	go test ./eventstore -run '^$' -bench AppendBatched -benchtime 200x
func BenchmarkAppendBatched(b *testing.B) {
	const batch = 500
	ctx := context.Background()
	s, _ := newStore(b)
	account, stream := eventstore.NewID(), eventstore.NewID()
	evs := make([]eventstore.NewEvent, batch)
	for i := range evs {
		evs[i] = eventstore.NewEvent{Type: "contact.updated", Data: []byte(`{"changes":{"title":{"old":"CTO","new":"CEO"}}}`)}
	}
	b.ResetTimer()
	var version int64
	for i := 0; i < b.N; i++ {
		if _, err := appendOne(ctx, s, account, stream, version, evs...); err != nil {
			b.Fatal(err)
		}
		version += batch
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendSingleConcurrent: 32 goroutines each appending one-event
// streams (a contact created), the shape of many independent writers.
//
//	go test ./eventstore -run '^$' -bench AppendSingleConcurrent -benchtime 20000x
func BenchmarkAppendSingleConcurrent(b *testing.B) {
	ctx := context.Background()
	s, _ := newStore(b)
	account := eventstore.NewID()
	data := []byte(`{"id":"x","profile":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}}`)
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0))) // 32 goroutines in all
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := appendOne(ctx, s, account, eventstore.NewID(), 0,
				eventstore.NewEvent{Type: "contact.created", Data: data}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
