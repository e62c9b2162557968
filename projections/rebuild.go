package projections

import (
	"context"
	"fmt"
	"time"

	"contacts/eventstore"
)

// RebuildSource is what a rebuild reads, and where it records how far the
// rebuilt read model reflects the store.
type RebuildSource interface {
	StreamReader
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (int64, error)
	SaveCheckpoints(ctx context.Context, cps map[string]eventstore.Cursor) error
}

var _ RebuildSource = (*eventstore.Store)(nil)

// Progress is reported while a rebuild runs.
type Progress struct {
	Projection string
	Phase      string // "replay", "swap", "catch-up", "done"
	Events     int64  // events read so far
	Total      int64  // the head position when the rebuild started (an estimate of the work)
	Elapsed    time.Duration
}

// Rate is events per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Events) / p.Elapsed.Seconds()
}

// ETA estimates the time left of the replay.
func (p Progress) ETA() time.Duration {
	r := p.Rate()
	if r == 0 || p.Events >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Events) / r * float64(time.Second))
}

// Rebuild replays the whole event store into fresh storage for one read
// model while the live one keeps serving, swaps it in atomically, then
// replays into the live storage whatever was appended meanwhile (so no event
// handled only by the old storage is lost), and moves the projection's
// checkpoint to where it stopped. Interrupted, it leaves the live read model
// untouched; run again, it starts over.
func Rebuild(ctx context.Context, src RebuildSource, rm interface {
	Store
	Rebuilder
}, name string, batchSize int, report func(Progress)) error {
	if batchSize <= 0 {
		batchSize = 5000
	}
	total, err := src.Head(ctx)
	if err != nil {
		return err
	}
	target, err := rm.StartRebuild(ctx, name)
	if err != nil {
		return err
	}
	handler, err := handlerFor(name, src, target)
	if err != nil {
		return err
	}
	start := time.Now()
	p := Progress{Projection: name, Phase: "replay", Total: total}
	tick := time.Now()
	var cur eventstore.Cursor
	counted := func(n int) {
		p.Events += int64(n)
		if time.Since(tick) >= 500*time.Millisecond {
			p.Elapsed, tick = time.Since(start), time.Now()
			report(p)
		}
	}
	// replay reads and prepares batch n+1 while batch n is being written.
	replay := func(h Preparer) error {
		type job struct {
			write func(context.Context) error
			n     int
		}
		jobs := make(chan job, 1)
		errc := make(chan error, 1)
		ctx, stop := context.WithCancel(ctx) // a failed write stops the reader
		defer stop()
		go func() {
			defer close(jobs)
			for {
				batch, err := src.ReadAll(ctx, cur, batchSize)
				if err == nil && len(batch) == 0 {
					errc <- nil
					return
				}
				var write func(context.Context) error
				if err == nil {
					write, err = h.Prepare(ctx, batch)
				}
				if err != nil {
					errc <- err
					return
				}
				cur = batch[len(batch)-1].Cursor()
				select {
				case jobs <- job{write, len(batch)}:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
		}()
		var werr error
		for j := range jobs {
			if werr == nil {
				if werr = j.write(ctx); werr == nil {
					counted(j.n)
				} else {
					stop()
				}
			}
		}
		if err := <-errc; werr == nil {
			return err
		}
		return werr
	}
	if err := replay(handler); err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	p.Phase, p.Elapsed = "swap", time.Since(start)
	report(p)
	if err := rm.FinishRebuild(ctx, name); err != nil {
		return fmt.Errorf("rebuild %s: %w", name, err)
	}
	live, _ := handlerFor(name, src, rm)
	p.Phase = "catch-up"
	if err := replay(live); err != nil {
		return fmt.Errorf("rebuild %s: catching up after the swap: %w", name, err)
	}
	// The live storage reflects every event up to cur. Without this, the
	// live runner would read again, from its own older checkpoint, all that
	// the rebuild replayed: after `contacts seed` (a million events appended
	// outside the runner), a minute and more of live updates held back at
	// the next start. A checkpoint never moves back, so a runner that went
	// further meanwhile keeps its place.
	if cur != (eventstore.Cursor{}) {
		if err := src.SaveCheckpoints(ctx, map[string]eventstore.Cursor{name: cur}); err != nil {
			return fmt.Errorf("rebuild %s: %w", name, err)
		}
	}
	p.Phase, p.Elapsed = "done", time.Since(start)
	report(p)
	return nil
}

func handlerFor(name string, events StreamReader, store Store) (Preparer, error) {
	for _, h := range New(events, store) {
		if h.Name() == name {
			return h.(Preparer), nil
		}
	}
	return nil, fmt.Errorf("no projection %q (have %v)", name, Names)
}
