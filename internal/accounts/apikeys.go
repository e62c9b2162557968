package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/auth"
)

// APIKeyPrefix starts every API key, so a bearer token is told apart from an
// access token (a JWT) without trying both.
const APIKeyPrefix = "ck_"

// apiKeyTouchEvery bounds the writes last_used_at costs: at most one per key
// per interval.
const apiKeyTouchEvery = time.Minute

// APIKey is a key as lists show it: never the secret.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the key's first characters, to recognise it
	Scopes     []string   `json:"scopes"`
	CreatedBy  *string    `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewAPIKey is a created key with its secret, shown this once.
type NewAPIKey struct {
	APIKey
	Key string `json:"key"`
}

// CreateAPIKeyInput names the key and what it may do.
type CreateAPIKeyInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// CreateAPIKey creates a key of p's account (p must be an administrator, as
// the API checks).
func (s *Service) CreateAPIKey(ctx context.Context, p auth.Principal, in CreateAPIKeyInput) (NewAPIKey, error) {
	errs := domain.Errors{}
	in.Name = strings.TrimSpace(in.Name)
	domain.CheckLength(errs, "name", in.Name, 1, 100)
	scopes, err := auth.ParseScopes(in.Scopes)
	switch {
	case err != nil:
		errs.Add("scopes", err.Error())
	case scopes == 0:
		errs.Add("scopes", "at least one of "+strings.Join(auth.ScopeNames(), ", ")+" is required")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		errs.Add("expires_at", "must be in the future")
	}
	if err := errs.Err(); err != nil {
		return NewAPIKey{}, err
	}
	secret, sum, err := newSecret(APIKeyPrefix)
	if err != nil {
		return NewAPIKey{}, err
	}
	k := NewAPIKey{Key: secret, APIKey: APIKey{ID: eventstore.NewID(), Name: in.Name, Prefix: secret[:len(APIKeyPrefix)+6],
		Scopes: scopes.Names(), CreatedAt: s.now().UTC().Truncate(time.Microsecond), ExpiresAt: in.ExpiresAt}}
	if p.UserID != "" {
		k.CreatedBy = &p.UserID
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO api_keys (id, account_id, name, prefix, key_hash, scopes, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, k.ID, p.AccountID, k.Name, k.Prefix, sum, k.Scopes, k.CreatedBy, k.CreatedAt, k.ExpiresAt); err != nil {
			return err
		}
		return audit(ctx, tx, p, "api_key.created", k.ID, map[string]any{"name": k.Name, "scopes": k.Scopes})
	})
	return k, err
}

const apiKeyColumns = `id::text, name, prefix, scopes, created_by::text, created_at, expires_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Scopes, &k.CreatedBy, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
	return k, err
}

// ListAPIKeys lists the account's keys, newest first, revoked ones included.
func (s *Service) ListAPIKeys(ctx context.Context, accountID string) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, id`, accountID)
	if err != nil {
		return nil, err
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanAPIKey(r) })
	if keys == nil {
		keys = []APIKey{}
	}
	return keys, err
}

// GetAPIKey returns one key of the account.
func (s *Service) GetAPIKey(ctx context.Context, accountID, id string) (APIKey, error) {
	if !isUUID(id) {
		return APIKey{}, domain.NotFound("api key", id)
	}
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, domain.NotFound("api key", id)
	}
	return k, err
}

// RevokeAPIKey revokes a key of p's account: it stops working at once.
func (s *Service) RevokeAPIKey(ctx context.Context, p auth.Principal, id string) (APIKey, error) {
	if !isUUID(id) {
		return APIKey{}, domain.NotFound("api key", id)
	}
	var k APIKey
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		k, err = scanAPIKey(tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
			WHERE account_id = $1 AND id = $2 RETURNING `+apiKeyColumns, p.AccountID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.NotFound("api key", id)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, p, "api_key.revoked", k.ID, map[string]any{"name": k.Name})
	})
	return k, err
}

// authenticateKey finds a live key by the SHA-256 of what was presented.
// The comparison is an index lookup of a hash of a 256-bit random secret:
// its timing tells nothing about the secret.
func (s *Service) authenticateKey(ctx context.Context, key string) (auth.Principal, error) {
	sum := sha256.Sum256([]byte(key))
	var p auth.Principal
	var scopes []string
	var lastUsed, expires *time.Time
	err := s.pool.QueryRow(ctx, `SELECT id::text, account_id::text, scopes, last_used_at, expires_at FROM api_keys
		WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`, sum[:], s.now()).
		Scan(&p.KeyID, &p.AccountID, &scopes, &lastUsed, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	if err != nil {
		return auth.Principal{}, err
	}
	if p.Scopes, err = auth.ParseScopes(scopes); err != nil {
		return auth.Principal{}, auth.ErrInvalidToken // a scope this version does not know: refuse rather than guess
	}
	if expires != nil {
		p.Expires = expires.UTC() // long-lived connections close then
	}
	p.Role = auth.RoleAgent
	if p.Can(auth.ScopeWriteContacts) {
		p.Role = auth.RoleAdministrator // of contact data; account administration needs a signed-in user
	}
	if now := s.now(); lastUsed == nil || now.Sub(*lastUsed) >= apiKeyTouchEvery {
		// Concurrent requests of one key: the first one to get here writes.
		if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1
			AND (last_used_at IS NULL OR last_used_at <= $3)`, p.KeyID, now, now.Add(-apiKeyTouchEvery)); err != nil {
			return auth.Principal{}, err
		}
	}
	return p, nil
}
