// Package requestid carries a request's id in its context and writes it in
// every log line logged with that context: the HTTP edge names each request
// (and the WebSocket endpoint each action), and whatever the request causes
// (handlers, commands, the event store) logs with its context, so an
// operator can follow one request through the log by its id.
package requestid

import (
	"context"
	"log/slog"
)

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id ctx carries ("" when none).
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Key is the log attribute's name.
const Key = "request_id"

// Handler wraps h: a record logged with a context that carries an id gets a
// request_id attribute, unless it has one already (the access log names it
// itself).
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == Key
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String(Key, id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }
func (h handler) WithGroup(name string) slog.Handler    { return handler{h.Handler.WithGroup(name)} }
