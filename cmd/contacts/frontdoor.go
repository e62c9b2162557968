package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// frontDoor is the process's HTTP listener (the API's, or the health
// listener of a process without it). It opens before the dependencies: while
// PostgreSQL, Elasticsearch or Kafka do not answer yet, /healthz says the
// process is up and /readyz (like every other path) answers 503 naming what
// it waits for, so an orchestrator can tell "starting" from "dead". Then the
// real handler is swapped in.
type frontDoor struct {
	srv     *http.Server
	ln      net.Listener
	logger  *slog.Logger
	errc    chan error
	handler atomic.Pointer[http.Handler]
	waiting atomic.Pointer[string] // the dependency being waited for
	once    sync.Once
}

func openFrontDoor(ctx context.Context, addr string, logger *slog.Logger) (*frontDoor, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &frontDoor{ln: ln, logger: logger, errc: make(chan error, 1)}
	f.setWaiting("database")
	f.srv = &http.Server{
		Handler:           http.HandlerFunc(f.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Handlers see a context that outlives the shutdown signal: an
		// in-flight write finishes its transaction instead of being cut.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	logger.Info("serving HTTP", "addr", ln.Addr().String())
	go func() { f.errc <- f.srv.Serve(ln) }()
	return f, nil
}

func (f *frontDoor) setWaiting(what string) { f.waiting.Store(&what) }

// setHandler makes h answer every request from now on.
func (f *frontDoor) setHandler(h http.Handler) { f.handler.Store(&h) }

func (f *frontDoor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if h := f.handler.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
		return
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.URL.Path == "/readyz" {
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": *f.waiting.Load()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
		"code": "unavailable", "message": "the service is starting: waiting for the " + *f.waiting.Load()}})
}

// wait serves until ctx is done or the server fails, then shuts down
// gracefully within grace.
func (f *frontDoor) wait(ctx context.Context, grace time.Duration) error {
	select {
	case err := <-f.errc:
		return err
	case <-ctx.Done():
	}
	f.logger.Info("shutting down: finishing in-flight requests", "timeout", grace)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	var err error
	f.once.Do(func() { err = f.srv.Shutdown(shutdownCtx) })
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-f.errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	f.logger.Info("HTTP stopped")
	return nil
}

// close stops the listener at once when serving never began (startup
// failed or was interrupted); after wait it does nothing.
func (f *frontDoor) close() {
	f.once.Do(func() { _ = f.srv.Close() })
}
