// Package accounts signs people in and tells who a request acts as (it is
// internal/auth's Authenticator): accounts
// (tenants), users and their roles, sessions with short-lived HS256 access
// tokens and rotated refresh tokens (reuse revokes the session), API keys
// with scopes, invitations, profiles, and the audit log of account
// administration.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/auth"
)

// ErrEmailTaken: the e-mail is already registered (internal/apierr maps it).
var ErrEmailTaken = errors.New("e-mail already registered")

// User is a person who signs in.
type User struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

// Account is a tenant, as seen by one of its users.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Session is what register, login, refresh and switching accounts answer.
type Session struct {
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    int     `json:"expires_in"`
	User         User    `json:"user"`
	Account      Account `json:"account"`
}

// Service is the auth service over PostgreSQL.
type Service struct {
	pool          *pgxpool.Pool
	secret        []byte
	accessTTL     time.Duration
	refreshTTL    time.Duration
	invitationTTL time.Duration
	bcryptCost    int
	now           func() time.Time
}

// New returns the service. secret signs access tokens.
func New(pool *pgxpool.Pool, secret []byte, accessTTL time.Duration) *Service {
	return &Service{pool: pool, secret: secret, accessTTL: accessTTL, refreshTTL: 30 * 24 * time.Hour,
		invitationTTL: 7 * 24 * time.Hour, bcryptCost: bcrypt.DefaultCost, now: time.Now}
}

// WithClock returns a copy of s that reads the time from now (tests of
// expiry).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// RegisterInput creates an account and its first administrator.
type RegisterInput struct {
	AccountName string `json:"account_name"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

func checkPassword(errs domain.Errors, field, password string) {
	if len(password) < 8 || len(password) > 72 {
		errs.Add(field, "must be 8 to 72 bytes long")
	}
}

// Register creates the account and user in one transaction.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Session, error) {
	errs := domain.Errors{}
	in.AccountName, in.Name = strings.TrimSpace(in.AccountName), strings.TrimSpace(in.Name)
	domain.CheckLength(errs, "account_name", in.AccountName, 1, 100)
	domain.CheckLength(errs, "name", in.Name, 1, 100)
	email, err := domain.NormalizeEmail(in.Email)
	if err != nil || email == "" {
		errs.Add("email", "must be a valid e-mail address")
	}
	checkPassword(errs, "password", in.Password)
	if err := errs.Err(); err != nil {
		return Session{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.bcryptCost)
	if err != nil {
		return Session{}, err
	}
	user := User{ID: eventstore.NewID(), Name: in.Name, Email: email}
	account := Account{ID: eventstore.NewID(), Name: in.AccountName, Role: auth.RoleAdministrator}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Session{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, name) VALUES ($1, $2)`, account.ID, account.Name); err != nil {
		return Session{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)`,
		user.ID, user.Email, user.Name, string(hash)); err != nil {
		if isUniqueViolation(err) {
			return Session{}, ErrEmailTaken
		}
		return Session{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, $3)`,
		account.ID, user.ID, account.Role); err != nil {
		return Session{}, err
	}
	sess, err := s.startSession(ctx, tx, user, account)
	if err != nil {
		return Session{}, err
	}
	return sess, tx.Commit(ctx)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// dummyHash keeps login timing the same whether or not the e-mail exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcrypt.DefaultCost)

// Login checks the password and signs in to the user's first account (or to
// accountID when given and the user is a member).
func (s *Service) Login(ctx context.Context, email, password, accountID string) (Session, error) {
	var user User
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT id::text, name, display_name, email, password_hash FROM users WHERE lower(email) = lower($1)`,
		strings.TrimSpace(email)).Scan(&user.ID, &user.Name, &user.DisplayName, &user.Email, &hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && hash == "") { // unknown, or invited and not yet accepted
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Session{}, auth.ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Session{}, auth.ErrInvalidCredentials
	}
	account, err := s.membership(ctx, s.pool, user.ID, accountID)
	if err != nil {
		return Session{}, err
	}
	// Expired refresh tokens are of no use any more (not even to detect a
	// reuse): each sign-in clears the user's.
	if _, err := s.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < $2`, user.ID, s.now()); err != nil {
		return Session{}, err
	}
	return s.startSession(ctx, s.pool, user, account)
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = (pgx.Tx)(nil)
)

// membership returns the user's account (the first one when accountID is
// empty); not a member is ErrInvalidCredentials.
func (s *Service) membership(ctx context.Context, db querier, userID, accountID string) (Account, error) {
	var a Account
	err := db.QueryRow(ctx, `SELECT a.id::text, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = $1 AND ($2 = '' OR a.id::text = $2) ORDER BY m.created_at, a.id LIMIT 1`, userID, accountID).Scan(&a.ID, &a.Name, &a.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, auth.ErrInvalidCredentials
	}
	return a, err
}

// Role returns userID's role in accountID; not a member is a not-found
// error (the account is not revealed).
func (s *Service) Role(ctx context.Context, userID, accountID string) (string, error) {
	var role string
	err := s.pool.QueryRow(ctx, `SELECT role FROM memberships WHERE user_id = $1 AND account_id = $2`, userID, accountID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", domain.NotFound("account", accountID)
	}
	return role, err
}

// Refresh trades a refresh token for a new session token pair; the old
// refresh token is spent. A spent token presented again means it was copied:
// the whole session (every token rotated from the same sign-in) is revoked
// and ErrTokenReused returned.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	sum := sha256.Sum256([]byte(refreshToken))
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Session{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	var id, sessionID, userID, accountID string
	var used, revoked, sessionRevoked bool
	var expires time.Time
	// Lock the session, then the token: the order sign-out takes them in.
	err = tx.QueryRow(ctx, `SELECT s.revoked_at IS NOT NULL, s.id::text FROM auth_sessions s
		WHERE s.id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1) FOR UPDATE`, sum[:]).Scan(&sessionRevoked, &sessionID)
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT id::text, user_id::text, account_id::text, used_at IS NOT NULL, revoked_at IS NOT NULL, expires_at
			FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, sum[:]).Scan(&id, &userID, &accountID, &used, &revoked, &expires)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, auth.ErrInvalidToken
	}
	if err != nil {
		return Session{}, err
	}
	switch {
	case sessionRevoked || revoked || !expires.After(s.now()):
		return Session{}, auth.ErrInvalidToken
	case used:
		if err := revokeSessions(ctx, tx, "refresh_token_reuse", `id = $1`, sessionID); err != nil {
			return Session{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return Session{}, err
		}
		return Session{}, auth.ErrTokenReused
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE id = $1`, id); err != nil {
		return Session{}, err
	}
	user, err := s.user(ctx, tx, userID)
	if err != nil {
		return Session{}, err
	}
	account, err := s.membership(ctx, tx, userID, accountID)
	if err != nil {
		return Session{}, auth.ErrInvalidToken // membership ended
	}
	sess, err := s.issue(ctx, tx, sessionID, user, account)
	if err != nil {
		return Session{}, err
	}
	return sess, tx.Commit(ctx)
}

// revokeSessions revokes the sessions matching where (over auth_sessions,
// with args) and their refresh tokens.
func revokeSessions(ctx context.Context, db querier, reason, where string, args ...any) error {
	n := len(args) + 1
	_, err := db.Exec(ctx, fmt.Sprintf(`WITH s AS (
			UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $%d WHERE revoked_at IS NULL AND %s RETURNING id)
		UPDATE refresh_tokens SET revoked_at = now() WHERE session_id IN (SELECT id FROM s) AND revoked_at IS NULL`, n, where),
		append(args, reason)...)
	return err
}

// SignOut revokes the caller's session (all of the user's sessions with
// everywhere): its refresh tokens stop working and so do the access tokens
// issued from it.
func (s *Service) SignOut(ctx context.Context, p auth.Principal, everywhere bool) error {
	if everywhere {
		return revokeSessions(ctx, s.pool, "signed_out", `user_id = $1`, p.UserID)
	}
	return revokeSessions(ctx, s.pool, "signed_out", `id = $1`, p.SessionID)
}

func (s *Service) user(ctx context.Context, db querier, id string) (User, error) {
	var u User
	err := db.QueryRow(ctx, `SELECT id::text, name, display_name, email FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email)
	return u, err
}

// startSession opens a session for user in account and issues its first
// token pair.
func (s *Service) startSession(ctx context.Context, db querier, user User, account Account) (Session, error) {
	sid := eventstore.NewID()
	if _, err := db.Exec(ctx, `INSERT INTO auth_sessions (id, user_id) VALUES ($1, $2)`, sid, user.ID); err != nil {
		return Session{}, fmt.Errorf("store session: %w", err)
	}
	return s.issue(ctx, db, sid, user, account)
}

func (s *Service) issue(ctx context.Context, db querier, sessionID string, user User, account Account) (Session, error) {
	now := s.now()
	claims := accessClaims{
		Account: account.ID, Role: account.Role, Session: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: user.ID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(s.accessTTL)),
			ID: eventstore.NewID(),
		},
	}
	access, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return Session{}, err
	}
	refresh, sum, err := newSecret("")
	if err != nil {
		return Session{}, err
	}
	if _, err := db.Exec(ctx, `INSERT INTO refresh_tokens (id, user_id, account_id, session_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, eventstore.NewID(), user.ID, account.ID, sessionID, sum, now.Add(s.refreshTTL)); err != nil {
		return Session{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Session{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.accessTTL.Seconds()), User: user, Account: account}, nil
}

// newSecret returns prefix + 256 random bits (base64url) and its SHA-256.
// Only the hash is stored: the secrets are random, so a fast hash is as
// good as a slow one, and lookups by hash are indexable.
func newSecret(prefix string) (secret string, sum []byte, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(secret))
	return secret, h[:], nil
}

type accessClaims struct {
	Account string `json:"acc"`
	Role    string `json:"role"`
	Session string `json:"sid"`
	jwt.RegisteredClaims
}

// Verify checks an access token's signature, algorithm, expiry and shape
// (it does not look at the database: Authenticate does).
func (s *Service) Verify(token string) (auth.Principal, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now))
	if err != nil || !isUUID(claims.Subject) || !isUUID(claims.Account) || !isUUID(claims.Session) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	return auth.Principal{UserID: claims.Subject, AccountID: claims.Account, Role: claims.Role, SessionID: claims.Session,
		Scopes: auth.ScopeAll, Expires: claims.ExpiresAt.Time.UTC()}, nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Authenticate tells who a bearer token acts as: an API key (ck_…) or an
// access token whose session is not revoked and whose user is still a member
// of the token's account (with the role they hold now, not when the token
// was issued).
func (s *Service) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	if strings.HasPrefix(token, APIKeyPrefix) {
		return s.authenticateKey(ctx, token)
	}
	p, err := s.Verify(token)
	if err != nil {
		return p, err
	}
	err = s.pool.QueryRow(ctx, `SELECT m.role FROM auth_sessions s
		JOIN memberships m ON m.user_id = s.user_id AND m.account_id = $3
		WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL`, p.SessionID, p.UserID, p.AccountID).Scan(&p.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	return p, err
}

// Recheck tells whether p may still act (long-lived connections call it):
// the access token has not expired, the session or key is not revoked, the
// user is still a member. It returns p with the role held now.
func (s *Service) Recheck(ctx context.Context, p auth.Principal) (auth.Principal, error) {
	if p.IsKey() {
		var ok bool
		err := s.pool.QueryRow(ctx, `SELECT true FROM api_keys WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > $3)`, p.KeyID, p.AccountID, s.now()).Scan(&ok)
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.Principal{}, auth.ErrInvalidToken
		}
		return p, err
	}
	if !p.Expires.After(s.now()) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	err := s.pool.QueryRow(ctx, `SELECT m.role FROM auth_sessions s
		JOIN memberships m ON m.user_id = s.user_id AND m.account_id = $3
		WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL`, p.SessionID, p.UserID, p.AccountID).Scan(&p.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	return p, err
}

// SwitchAccount issues a token pair of the caller's session for another
// account the user is a member of.
func (s *Service) SwitchAccount(ctx context.Context, p auth.Principal, accountID string) (Session, error) {
	if !isUUID(accountID) {
		return Session{}, domain.NotFound("account", accountID)
	}
	account, err := s.membership(ctx, s.pool, p.UserID, accountID)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return Session{}, domain.NotFound("account", accountID)
	}
	if err != nil {
		return Session{}, err
	}
	user, err := s.user(ctx, s.pool, p.UserID)
	if err != nil {
		return Session{}, err
	}
	return s.issue(ctx, s.pool, p.SessionID, user, account)
}
