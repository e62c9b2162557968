package web

import (
	"contacts/internal/apierr"
)

var (
	errNotFoundRoute    = apierr.New(apierr.NotFound, "no such route")
	errMethodNotAllowed = apierr.New(apierr.MethodNotAllowed, "method not allowed on this route")
	errUnauthorized     = apierr.New(apierr.Unauthorized, "a valid access token is required (Authorization: Bearer <token>)")
	errUserRequired     = apierr.New(apierr.Forbidden, "this route needs a signed-in user: API keys cannot use it")
)
