package ws

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"sort"

	"contacts/readapi/realtime"
)

// The subscription actions of WS /api/v1/contacts/ws (same envelope):
//
//	{"action":"subscribe","request_id":"s1","data":{"channel":"contacts","filter":{"city":"Austin"},"from_position":1042}}
//	→ {"request_id":"s1","action":"subscribe","status":"success","data":{"subscription":"contacts","channels":["contacts"],"position":1042}}
//	then pushes {"event":"contact.updated","channel":"contacts","id":…,"data":{…},"position":1043,"version":4,"occurred_at":…}
//	{"action":"unsubscribe","request_id":"u1","data":{"channel":"contacts"}}
const (
	wsCodeSubscribeError   = "subscribe_error"
	wsCodeUnsubscribeError = "unsubscribe_error"
)

func init() {
	wsActions["subscribe"] = wsAction{(*wsHandler).subscribe, wsCodeSubscribeError, false}
	wsActions["unsubscribe"] = wsAction{(*wsHandler).unsubscribe, wsCodeUnsubscribeError, false}
}

// wsAnswered is what an action returns when it has queued its answer itself
// (subscribe: the answer must precede the subscription's first push).
type wsAnswered struct{}

// liveRequest is a parsed subscription request.
type liveRequest struct {
	channels []realtime.Channel
	filter   map[string]any
	from     *int64
}

// parseLiveRequest reads channel/channels, filter and from_position;
// unknown keys and wrong types are named.
func parseLiveRequest(data map[string]any, allowed ...string) (liveRequest, error) {
	var r liveRequest
	bad := map[string]string{}
	known := map[string]bool{}
	for _, k := range allowed {
		known[k] = true
	}
	var names []string
	for k, v := range data {
		if !known[k] {
			bad[k] = "unknown field"
			continue
		}
		switch k {
		case "channel":
			s, ok := v.(string)
			if !ok || s == "" {
				bad[k] = "must be a channel name"
				continue
			}
			names = append(names, s)
		case "channels":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				bad[k] = "must be a non-empty array of channel names"
				continue
			}
			for _, x := range list {
				s, ok := x.(string)
				if !ok {
					bad[k] = "must be a non-empty array of channel names"
					break
				}
				names = append(names, s)
			}
		case "filter":
			if v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				bad[k] = "must be an object of list_contacts filters"
				continue
			}
			r.filter = m
		case "from_position":
			if v == nil {
				continue
			}
			f, ok := v.(float64)
			if !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
				bad[k] = "must be an integer ≥ 0 (the position of the last message received)"
				continue
			}
			n := int64(f)
			r.from = &n
		}
	}
	if len(names) == 0 && bad["channel"] == "" && bad["channels"] == "" {
		return r, wsMissing("channel")
	}
	for _, n := range names {
		c, err := realtime.ParseChannel(n)
		if err != nil {
			bad["channel"] = err.Error()
			continue
		}
		r.channels = append(r.channels, c)
	}
	if r.filter != nil {
		hasContacts := false
		for _, c := range r.channels {
			hasContacts = hasContacts || c.Kind == realtime.KindContacts
		}
		if !hasContacts {
			bad["filter"] = "only the contacts channel takes a filter"
		}
	}
	if len(bad) > 0 {
		return r, wsInvalid(bad)
	}
	return r, nil
}

func (h *wsHandler) hub() (*realtime.Hub, error) {
	if h.deps.Realtime == nil {
		return nil, &realtime.Error{Code: realtime.CodeUnavailable, Message: "live updates are not enabled on this server"}
	}
	return h.deps.Realtime, nil
}

// liveError maps a subscription failure to the protocol's error.
func liveError(err error) error {
	var re *realtime.Error
	if errors.As(err, &re) {
		return &wsError{Code: re.Code, Message: re.Message}
	}
	return err
}

func (h *wsHandler) subscribe(ctx context.Context, r *wsRequest) (any, error) {
	hub, err := h.hub()
	if err != nil {
		return nil, liveError(err)
	}
	lr, err := parseLiveRequest(r.data, "channel", "channels", "filter", "from_position")
	if err != nil {
		return nil, err
	}
	filter, err := h.deps.liveFilter(lr.filter)
	if err != nil {
		return nil, liveError(err)
	}
	names := channelNames(lr.channels)
	action := "subscribe"
	_, err = hub.Subscribe(ctx, r.conn.sink, realtime.Request{
		AccountID: r.principal.AccountID, Channels: lr.channels, Filter: filter, From: lr.from,
		Ack: func(position int64) []byte {
			body, _ := json.Marshal(wsResponse{RequestID: r.rawID, Action: &action, Status: wsStatusSuccess,
				Data: map[string]any{"subscription": realtime.Key(lr.channels), "channels": names, "position": position}})
			return body
		},
	})
	if err != nil {
		return nil, liveError(err)
	}
	return wsAnswered{}, nil
}

func (h *wsHandler) unsubscribe(_ context.Context, r *wsRequest) (any, error) {
	hub, err := h.hub()
	if err != nil {
		return nil, liveError(err)
	}
	lr, err := parseLiveRequest(r.data, "channel", "channels")
	if err != nil {
		return nil, err
	}
	key := realtime.Key(lr.channels)
	for _, sub := range r.conn.sink.Subscriptions() {
		if sub.Key() == key {
			hub.Unsubscribe(sub)
			return map[string]any{"subscription": key, "unsubscribed": true}, nil
		}
	}
	return nil, &wsError{Code: realtime.CodeNotSubscribed, Message: "not subscribed to " + key}
}

func channelNames(chans []realtime.Channel) []string {
	out := make([]string, 0, len(chans))
	seen := map[string]bool{}
	for _, c := range chans {
		if s := c.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
