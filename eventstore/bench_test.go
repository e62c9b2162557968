package eventstore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"contacts/eventstore"
)

// BenchmarkAppendBatched appends batches of events to one stream, one
// transaction per batch, for several batch sizes.
//
//	go test ./eventstore -run '^$' -bench AppendBatched -benchtime 200x
func BenchmarkAppendBatched(b *testing.B) {
	for _, batch := range []int{100, 500, 1000, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
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
				version += int64(batch)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
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
	// Open the pool's connections before timing: connecting is not appending.
	var warm sync.WaitGroup
	for i := 0; i < 32; i++ {
		warm.Add(1)
		go func() {
			defer warm.Done()
			if _, err := appendOne(ctx, s, account, eventstore.NewID(), 0, eventstore.NewEvent{Type: "contact.created", Data: data}); err != nil {
				b.Error(err)
			}
		}()
	}
	warm.Wait()
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
