// Package auth signs people in: accounts (tenants), users and their roles,
// password hashing, short-lived HS256 access tokens and rotated refresh tokens.
package auth

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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"contacts/domain"
	"contacts/eventstore"
)

// Roles a user can hold in an account.
const (
	RoleAdministrator = "administrator"
	RoleAgent         = "agent"
)

// Errors the API maps.
var (
	ErrInvalidCredentials = errors.New("invalid e-mail or password")
	ErrInvalidToken       = errors.New("invalid or expired token")
	ErrEmailTaken         = errors.New("e-mail already registered")
)

// Principal is who a request acts as.
type Principal struct {
	UserID    string
	AccountID string
	Role      string
	// ExpiresAt is when the access token stops being valid (zero: unknown).
	// Long-lived connections (WebSocket) close then.
	ExpiresAt time.Time
}

// IsAdmin reports the administrator role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdministrator }

// User is a person who signs in.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Account is a tenant, as seen by one of its users.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Session is what register, login and refresh answer.
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
	pool       *pgxpool.Pool
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	bcryptCost int
	now        func() time.Time
}

// New returns the service. secret signs access tokens.
func New(pool *pgxpool.Pool, secret []byte, accessTTL time.Duration) *Service {
	return &Service{pool: pool, secret: secret, accessTTL: accessTTL, refreshTTL: 30 * 24 * time.Hour,
		bcryptCost: bcrypt.DefaultCost, now: time.Now}
}

// RegisterInput creates an account and its first administrator.
type RegisterInput struct {
	AccountName string `json:"account_name"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
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
	if len(in.Password) < 8 || len(in.Password) > 72 {
		errs.Add("password", "must be 8 to 72 bytes long")
	}
	if err := errs.Err(); err != nil {
		return Session{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.bcryptCost)
	if err != nil {
		return Session{}, err
	}
	user := User{ID: eventstore.NewID(), Name: in.Name, Email: email}
	account := Account{ID: eventstore.NewID(), Name: in.AccountName, Role: RoleAdministrator}
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
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return Session{}, ErrEmailTaken
		}
		return Session{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, $3)`,
		account.ID, user.ID, account.Role); err != nil {
		return Session{}, err
	}
	sess, err := s.issue(ctx, tx, user, account)
	if err != nil {
		return Session{}, err
	}
	return sess, tx.Commit(ctx)
}

// dummyHash keeps login timing the same whether or not the e-mail exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcrypt.DefaultCost)

// Login checks the password and signs in to the user's first account (or to
// accountID when given and the user is a member).
func (s *Service) Login(ctx context.Context, email, password, accountID string) (Session, error) {
	var user User
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT id::text, name, email, password_hash FROM users WHERE lower(email) = lower($1)`,
		strings.TrimSpace(email)).Scan(&user.ID, &user.Name, &user.Email, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Session{}, ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Session{}, ErrInvalidCredentials
	}
	account, err := s.membership(ctx, user.ID, accountID)
	if err != nil {
		return Session{}, err
	}
	return s.issue(ctx, s.pool, user, account)
}

func (s *Service) membership(ctx context.Context, userID, accountID string) (Account, error) {
	var a Account
	err := s.pool.QueryRow(ctx, `SELECT a.id::text, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = $1 AND ($2 = '' OR a.id::text = $2) ORDER BY m.created_at LIMIT 1`, userID, accountID).Scan(&a.ID, &a.Name, &a.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrInvalidCredentials
	}
	return a, err
}

// Refresh trades a refresh token for a new session; the old token is spent.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	sum := sha256.Sum256([]byte(refreshToken))
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Session{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	var userID, accountID string
	err = tx.QueryRow(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
		RETURNING user_id::text, account_id::text`, sum[:]).Scan(&userID, &accountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrInvalidToken
	}
	if err != nil {
		return Session{}, err
	}
	var user User
	if err := tx.QueryRow(ctx, `SELECT id::text, name, email FROM users WHERE id = $1`, userID).Scan(&user.ID, &user.Name, &user.Email); err != nil {
		return Session{}, err
	}
	account, err := s.membership(ctx, userID, accountID)
	if err != nil {
		return Session{}, ErrInvalidToken // membership ended
	}
	sess, err := s.issue(ctx, tx, user, account)
	if err != nil {
		return Session{}, err
	}
	return sess, tx.Commit(ctx)
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Service) issue(ctx context.Context, db execer, user User, account Account) (Session, error) {
	now := s.now()
	claims := accessClaims{
		Account: account.ID, Role: account.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: user.ID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(s.accessTTL)),
			ID: eventstore.NewID(),
		},
	}
	access, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return Session{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, err
	}
	refresh := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(refresh))
	if _, err := db.Exec(ctx, `INSERT INTO refresh_tokens (id, user_id, account_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, eventstore.NewID(), user.ID, account.ID, sum[:], now.Add(s.refreshTTL)); err != nil {
		return Session{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Session{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.accessTTL.Seconds()), User: user, Account: account}, nil
}

type accessClaims struct {
	Account string `json:"acc"`
	Role    string `json:"role"`
	jwt.RegisteredClaims
}

// Verify checks an access token's signature, algorithm and expiry.
func (s *Service) Verify(token string) (Principal, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now))
	if err != nil || claims.Subject == "" || claims.Account == "" {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{UserID: claims.Subject, AccountID: claims.Account, Role: claims.Role}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.UTC()
	}
	return p, nil
}
