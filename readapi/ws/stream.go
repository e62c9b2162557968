package ws

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"contacts/internal/auth"
	textrule "contacts/internal/text"
	"contacts/readapi/realtime"
)

// StreamHandler serves WS /api/v1/stream: live updates for clients that
// only listen.
//
//	GET /api/v1/stream?token=<jwt>[&channels=contacts,group:<id>][&from_position=N][&filter=<JSON object of list_contacts filters>]
//
// channels defaults to every account-wide channel (contacts, groups,
// labels, companies, imports). Invalid parameters answer 400, another
// account's channel 404, both before the upgrade. The first message is
// {"event":"subscribed","channels":[…],"position":N}; then pushes; a
// connection that falls behind gets resync_required and is closed with
// 4002; an expired token (or API key) closes it with 4001; a revoked
// session or key, or a removed member, closes it with 1008 (Deps.Recheck,
// run when a push finds the last check stale); a message from the
// client closes it with 1003 (the stream takes none). API keys need the
// read_contacts scope.
func StreamHandler(d Deps) gin.HandlerFunc {
	return newWSHandler(d).stream
}

var defaultStreamChannels = []string{realtime.KindContacts, realtime.KindGroups, realtime.KindLabels, realtime.KindCompanies, realtime.KindImports}

func (h *wsHandler) stream(c *gin.Context) {
	p, ok := h.principal(c)
	if !ok {
		return
	}
	if !p.Can(auth.ScopeReadContacts) {
		c.Abort()
		wsHTTPError(c.Writer, http.StatusForbidden, wsCodeInsufficientScope, "this API key lacks the read_contacts scope")
		return
	}
	hub := h.deps.Realtime
	if hub == nil {
		c.Abort()
		wsHTTPError(c.Writer, http.StatusNotImplemented, realtime.CodeUnavailable, "live updates are not enabled on this server")
		return
	}
	data := map[string]any{}
	q := c.Request.URL.Query()
	// The text rule (internal/text) on the parameters and inside the filter.
	fe := textrule.CheckValues(q)
	if fe == nil {
		if f := q.Get("filter"); f != "" {
			if err := textrule.CheckJSON([]byte(f)); errors.As(err, &fe) {
				fe.Field = strings.TrimSuffix("filter."+fe.Field, ".")
			}
		}
	}
	if fe != nil {
		c.Abort()
		body, _ := json.Marshal(map[string]any{"error": wsInvalid(map[string]string{fe.Field: fe.Err.Error()})})
		c.Data(http.StatusUnprocessableEntity, "application/json; charset=utf-8", body)
		return
	}
	for k, vals := range q {
		if k == "token" {
			continue
		}
		v := vals[len(vals)-1]
		switch k {
		case "channels":
			var list []any
			for _, name := range strings.Split(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					list = append(list, name)
				}
			}
			data[k] = list
		case "from_position":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				data[k] = v // refused below, with the others
			} else {
				data[k] = float64(n)
			}
		case "filter":
			var m map[string]any
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				data[k] = v
			} else {
				data[k] = m
			}
		default:
			data[k] = v
		}
	}
	if _, given := data["channels"]; !given {
		list := make([]any, len(defaultStreamChannels))
		for i, ch := range defaultStreamChannels {
			list[i] = ch
		}
		data["channels"] = list
	}
	lr, err := parseLiveRequest(data, "channels", "filter", "from_position")
	if err == nil {
		var filter realtime.Filter
		if filter, err = h.deps.liveFilter(lr.filter); err == nil {
			err = hub.Authorize(c.Request.Context(), p.AccountID, lr.channels)
			if err == nil {
				h.upgrade(c, p, true, func(wc *wsConn) { h.listen(wc, hub, p.AccountID, lr, filter) })
				return
			}
		}
	}
	c.Abort()
	var we *wsError
	var re *realtime.Error
	switch {
	case errors.As(err, &we):
		body, _ := json.Marshal(map[string]any{"error": we})
		c.Data(http.StatusBadRequest, "application/json; charset=utf-8", body)
	case errors.As(err, &re) && re.Code == realtime.CodeNotFound:
		wsHTTPError(c.Writer, http.StatusNotFound, re.Code, re.Message)
	case errors.As(err, &re):
		wsHTTPError(c.Writer, http.StatusBadRequest, re.Code, re.Message)
	default:
		h.log.ErrorContext(c.Request.Context(), "stream: subscribing", "err", err)
		wsHTTPError(c.Writer, http.StatusInternalServerError, "internal_error", "internal error")
	}
}

// listen subscribes a stream connection; a failure is reported and closes it.
func (h *wsHandler) listen(wc *wsConn, hub *realtime.Hub, accountID string, lr liveRequest, filter realtime.Filter) {
	names := channelNames(lr.channels)
	_, err := hub.Subscribe(wc.ctx, wc.sink, realtime.Request{
		AccountID: accountID, Channels: lr.channels, Filter: filter, From: lr.from,
		Ack: func(position int64) []byte {
			body, _ := json.Marshal(map[string]any{"event": "subscribed", "channels": names, "position": position})
			return body
		},
	})
	if err == nil || wc.ctx.Err() != nil {
		return
	}
	var re *realtime.Error
	code, msg := "subscribe_error", "the subscription failed"
	if errors.As(err, &re) {
		code, msg = re.Code, re.Message
	} else {
		h.log.ErrorContext(wc.ctx, "stream: subscribing", "err", err)
	}
	body, _ := json.Marshal(map[string]any{"event": "error", "error": map[string]string{"code": code, "message": msg}})
	wc.sink.Send(body)
	wc.forceClose(WSCloseSubscribeFailed)
}
