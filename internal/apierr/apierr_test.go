package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"contacts/domain"
	"contacts/eventstore"
)

// The table gives a coded error its row; a domain error keeps its own code
// and gets its sentinel's row; what the table does not know is a 500.
func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		ws     WS
		code   string
		known  bool
	}{
		{"coded", New(InvalidJSON, "bad"), http.StatusBadRequest, WSValidation, "invalid_json", true},
		{"wrapped coded", fmt.Errorf("x: %w", New(RateLimited, "slow down")), http.StatusTooManyRequests, WSAction, "rate_limited", true},
		{"invalid", Invalid(map[string]string{"a": "b"}), http.StatusUnprocessableEntity, WSValidation, "validation_error", true},
		{"domain not found", domain.NotFound("contact", "1"), http.StatusNotFound, WSNotFound, "not_found", true},
		{"domain already exists", domain.AlreadyExists("label", "x"), http.StatusConflict, WSValidation, "already_exists", true},
		{"domain custom code, invalid state", &domain.Error{Code: "last_administrator", Err: domain.ErrInvalidState}, http.StatusConflict, WSAction, "last_administrator", true},
		{"domain custom code, validation", &domain.Error{Code: "bulk_limit_exceeded", Err: domain.ErrValidation}, http.StatusUnprocessableEntity, WSValidation, "bulk_limit_exceeded", true},
		{"domain no sentinel", &domain.Error{Code: "odd"}, http.StatusBadRequest, WSValidation, "odd", true},
		{"sentinel", eventstore.ErrConcurrency, http.StatusConflict, WSAction, "conflict", true},
		{"code not in the table", New(Code("no_such_code"), "x"), http.StatusInternalServerError, WSAction, "internal_error", false},
		{"unknown", errors.New("boom"), http.StatusInternalServerError, WSAction, "internal_error", false},
	}
	for _, tc := range cases {
		p, known := Classify(tc.err)
		if p.Status != tc.status || p.WS != tc.ws || p.Code != tc.code || known != tc.known {
			t.Errorf("%s: got status %d ws %d code %q known %v; want %d %d %q %v",
				tc.name, p.Status, p.WS, p.Code, known, tc.status, tc.ws, tc.code, tc.known)
		}
	}
}

// Every code of the table has a status; success codes are not errors.
func TestTableStatuses(t *testing.T) {
	for c, r := range table {
		if r.status < 400 || r.status > 599 {
			t.Errorf("%q: status %d is not an error status", c, r.status)
		}
		if c.Status() != r.status {
			t.Errorf("%q: Status() = %d, row %d", c, c.Status(), r.status)
		}
	}
}
