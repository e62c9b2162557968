package web

import (
	"net/http"

	"contacts/internal/apierr"
)

var (
	errNotFoundRoute    = apierr.New(http.StatusNotFound, "not_found", "no such route")
	errMethodNotAllowed = apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	errUnauthorized     = apierr.New(http.StatusUnauthorized, "unauthorized", "a valid access token is required (Authorization: Bearer <token>)")
	errUserRequired     = apierr.New(http.StatusForbidden, "forbidden", "this route needs a signed-in user: API keys cannot use it")
)
