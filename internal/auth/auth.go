// Package auth is what every transport needs to know of who is calling: the
// Principal (user or API key, account, role, scopes), the scopes, the roles,
// the authentication errors, and the Authenticator that turns a token into a
// Principal. Accounts, users, members, invitations, API keys, sessions and
// the audit log are internal/accounts (which implements Authenticator).
package auth

import (
	"context"
	"errors"
)

// Roles a user can hold in an account.
const (
	RoleAdministrator = "administrator"
	RoleAgent         = "agent"
)

// Errors of authentication the API maps (internal/apierr).
var (
	ErrInvalidCredentials = errors.New("invalid e-mail or password")
	ErrInvalidToken       = errors.New("invalid or expired token")
	ErrTokenReused        = errors.New("refresh token already used: the session is revoked")
)

// Authenticator turns a bearer token (access token or API key) into the
// Principal it acts as, and rechecks a Principal of a long-lived connection
// (membership, role and key still valid).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
	Recheck(ctx context.Context, p Principal) (Principal, error)
}
