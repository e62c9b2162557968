package esstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
)

// Retry policy: exponential back-off with jitter, from 100 ms up to 5 s per
// wait, giving up once about a minute has been spent waiting.
const (
	backoffBase   = 100 * time.Millisecond
	backoffMax    = 5 * time.Second
	backoffBudget = time.Minute
)

// backoff yields the waits between attempts. Each wait is "equal jitter":
// half of the exponential step, plus a random part of up to the other half,
// so that writers retrying together spread out.
type backoff struct {
	base, max, budget time.Duration
	rnd               *rand.Rand
	attempt           int
	spent             time.Duration
}

func newBackoff(seed uint64) *backoff {
	return &backoff{base: backoffBase, max: backoffMax, budget: backoffBudget,
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next returns the wait before the next attempt, or false when the budget
// is spent (the caller gives up).
func (b *backoff) next() (time.Duration, bool) {
	step := b.max
	if b.attempt < 30 && b.base<<b.attempt < b.max {
		step = b.base << b.attempt
	}
	half := step / 2
	d := half + time.Duration(b.rnd.Int64N(int64(step-half)+1))
	if b.spent+d > b.budget {
		return 0, false
	}
	b.attempt++
	b.spent += d
	return d, true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryableStatus tells whether an HTTP status (of a request or of one bulk
// item) is worth retrying: the cluster is overloaded or briefly unavailable.
func retryableStatus(status int) bool {
	switch status {
	case 429, 502, 503, 504:
		return true
	}
	return false
}

// retryable tells whether a failed request may succeed if sent again.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var es *types.ElasticsearchError
	if errors.As(err, &es) {
		return retryableStatus(es.Status)
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retry runs fn until it succeeds, fails for good, or the back-off budget
// or ctx runs out.
func (s *Store) retry(ctx context.Context, what string, fn func() error) error {
	b := s.newBackoff()
	for {
		err := fn()
		if err == nil || !retryable(err) {
			return err
		}
		d, ok := b.next()
		if !ok {
			return err
		}
		s.log.Warn("elasticsearch request failed, retrying", "request", what, "err", err, "wait", d)
		if cerr := sleep(ctx, d); cerr != nil {
			return fmt.Errorf("%w (last error: %v)", cerr, err)
		}
	}
}
