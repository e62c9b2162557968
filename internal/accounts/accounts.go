package accounts

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/auth"
)

func (s *Service) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// AuditEntry is one change to an account's administration.
type AuditEntry struct {
	ID        int64          `json:"id"`
	Actor     string         `json:"actor"`
	ActorType string         `json:"actor_type"`
	Action    string         `json:"action"`
	Target    string         `json:"target"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
	CreatedAt time.Time      `json:"created_at"`
}

// audit records an administrative change in the same transaction as the
// change, with who made it and the request id.
func audit(ctx context.Context, db querier, p auth.Principal, action, target string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO audit_log (account_id, actor, actor_type, action, target, details, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.AccountID, p.Actor(), p.ActorType(), action, target, raw,
		eventstore.RequestInfoFrom(ctx).Metadata.RequestID)
	return err
}

// AuditLog lists the account's administrative changes, newest first, before
// the entry beforeID (0: from the newest).
func (s *Service) AuditLog(ctx context.Context, accountID string, beforeID int64, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, actor, actor_type, action, target, details, request_id, created_at
		FROM audit_log WHERE account_id = $1 AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3`, accountID, beforeID, limit)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.Actor, &e.ActorType, &e.Action, &e.Target, &e.Details, &e.RequestID, &e.CreatedAt)
		return e, err
	})
	if out == nil {
		out = []AuditEntry{}
	}
	return out, err
}

// AccountDetails is an account with its settings.
type AccountDetails struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Role      string         `json:"role,omitempty"` // the caller's
	Settings  map[string]any `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// CreateAccount creates an account whose first administrator is p's user.
func (s *Service) CreateAccount(ctx context.Context, p auth.Principal, name string, settings map[string]any) (AccountDetails, error) {
	name = strings.TrimSpace(name)
	errs := domain.Errors{}
	domain.CheckLength(errs, "name", name, 1, 100)
	checkSettings(errs, settings)
	if err := errs.Err(); err != nil {
		return AccountDetails{}, err
	}
	if settings == nil {
		settings = map[string]any{}
	}
	id := eventstore.NewID()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, name, settings) VALUES ($1, $2, $3)`, id, name, settings); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, 'administrator')`, id, p.UserID); err != nil {
			return err
		}
		q := p
		q.AccountID = id
		return audit(ctx, tx, q, "account.created", id, map[string]any{"name": name})
	})
	if err != nil {
		return AccountDetails{}, err
	}
	return s.Account(ctx, p.UserID, id)
}

func checkSettings(errs domain.Errors, settings map[string]any) {
	if raw, _ := json.Marshal(settings); len(raw) > 64<<10 {
		errs.Add("settings", "must be at most 64 KiB of JSON")
	}
	// default_phone_region: the country national phone numbers are read
	// in (stored upper-case); null removes it.
	if v, ok := settings[SettingPhoneRegion]; ok && v != nil {
		s, _ := v.(string)
		r, err := domain.NormalizePhoneRegion(s)
		if err != nil || r == "" {
			errs.Add("settings."+SettingPhoneRegion, "must be an ISO 3166 alpha-2 country code, like US or GB (null removes it)")
		} else {
			settings[SettingPhoneRegion] = r
		}
	}
}

// SettingPhoneRegion is the account setting that holds the default phone
// region (ISO 3166 alpha-2).
const SettingPhoneRegion = "default_phone_region"

// DefaultPhoneRegion returns the account's default_phone_region setting
// ("" when unset or the account is unknown).
func (s *Service) DefaultPhoneRegion(ctx context.Context, accountID string) (string, error) {
	if !domain.IsUUID(accountID) {
		return "", nil
	}
	var r *string
	// By primary key: this runs on every write that carries phone numbers.
	err := s.pool.QueryRow(ctx, `SELECT settings ->> $2 FROM accounts WHERE id = $1`, accountID, SettingPhoneRegion).Scan(&r)
	if errors.Is(err, pgx.ErrNoRows) || r == nil {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return *r, nil
}

// Accounts lists the user's accounts with their role in each.
func (s *Service) Accounts(ctx context.Context, userID string) ([]Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id::text, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = $1 ORDER BY m.created_at, a.id`, userID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.Name, &a.Role)
		return a, err
	})
	if out == nil {
		out = []Account{}
	}
	return out, err
}

// Account returns an account with settings; userID's role in it is filled
// when userID is a member.
func (s *Service) Account(ctx context.Context, userID, accountID string) (AccountDetails, error) {
	var a AccountDetails
	var role *string
	err := s.pool.QueryRow(ctx, `SELECT a.id::text, a.name, a.settings, a.created_at, a.updated_at,
			(SELECT role FROM memberships WHERE account_id = a.id AND user_id::text = $2)
		FROM accounts a WHERE a.id = $1`, accountID, userID).Scan(&a.ID, &a.Name, &a.Settings, &a.CreatedAt, &a.UpdatedAt, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, domain.NotFound("account", accountID)
	}
	if role != nil {
		a.Role = *role
	}
	return a, err
}

// UpdateAccountInput changes the name and merges settings (a null value
// removes a setting).
type UpdateAccountInput struct {
	Name     *string        `json:"name"`
	Settings map[string]any `json:"settings"`
}

// UpdateAccount changes p's account.
func (s *Service) UpdateAccount(ctx context.Context, p auth.Principal, in UpdateAccountInput) (AccountDetails, error) {
	errs := domain.Errors{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		domain.CheckLength(errs, "name", *in.Name, 1, 100)
	}
	checkSettings(errs, in.Settings)
	if err := errs.Err(); err != nil {
		return AccountDetails{}, err
	}
	if in.Settings == nil {
		in.Settings = map[string]any{}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET name = coalesce($2, name),
				settings = jsonb_strip_nulls(settings || $3::jsonb), updated_at = now() WHERE id = $1`,
			p.AccountID, in.Name, in.Settings)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.NotFound("account", p.AccountID)
		}
		return audit(ctx, tx, p, "account.updated", p.AccountID, map[string]any{"name": in.Name, "settings": in.Settings})
	})
	if err != nil {
		return AccountDetails{}, err
	}
	return s.Account(ctx, p.UserID, p.AccountID)
}

// Member is a user of an account, with their role in it.
type Member struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	Confirmed   bool      `json:"confirmed"` // has chosen a password
	JoinedAt    time.Time `json:"joined_at"`
}

// Invitation lets an invited person choose a password; the token is shown
// once, to the administrator who invited them.
type Invitation struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AddedMember is what adding a member answers.
type AddedMember struct {
	Member
	Invitation *Invitation `json:"invitation,omitempty"` // a new user: how they set their password
}

const memberColumns = `u.id::text, u.name, u.display_name, u.email, m.role, u.password_hash <> '', m.created_at`

func scanMember(row pgx.Row) (Member, error) {
	var m Member
	err := row.Scan(&m.ID, &m.Name, &m.DisplayName, &m.Email, &m.Role, &m.Confirmed, &m.JoinedAt)
	return m, err
}

// Members lists the account's users.
func (s *Service) Members(ctx context.Context, accountID string) ([]Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.account_id = $1 ORDER BY m.created_at, u.id`, accountID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) { return scanMember(r) })
	if out == nil {
		out = []Member{}
	}
	return out, err
}

// Member returns one user of the account.
func (s *Service) Member(ctx context.Context, accountID, userID string) (Member, error) {
	if !isUUID(userID) {
		return Member{}, domain.NotFound("user", userID)
	}
	m, err := scanMember(s.pool.QueryRow(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.account_id = $1 AND m.user_id = $2`, accountID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, domain.NotFound("user", userID)
	}
	return m, err
}

// AddMemberInput invites a person by e-mail.
type AddMemberInput struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

func checkRole(errs domain.Errors, role string) {
	if role != auth.RoleAdministrator && role != auth.RoleAgent {
		errs.Add("role", "must be administrator or agent")
	}
}

// AddMember adds a user to p's account: an existing user (by e-mail) joins
// at once; a new one is created without a password and gets an invitation.
func (s *Service) AddMember(ctx context.Context, p auth.Principal, in AddMemberInput) (AddedMember, error) {
	email, err := checkMember(&in)
	if err != nil {
		return AddedMember{}, err
	}
	var out AddedMember
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var added bool
		out, added, err = s.addMember(ctx, tx, p, email, in)
		if err == nil && !added {
			err = domain.AlreadyExists("member", email)
		}
		return err
	})
	return out, err
}

// BulkAddMembers adds every e-mail as an agent, in one transaction: all or
// nothing. Those already members are skipped (and not in the answer).
func (s *Service) BulkAddMembers(ctx context.Context, p auth.Principal, emails []string) ([]AddedMember, error) {
	errs := domain.Errors{}
	if len(emails) == 0 || len(emails) > 100 {
		errs.Add("emails", "must hold 1 to 100 e-mail addresses")
	}
	ins := make([]AddMemberInput, len(emails))
	normalized := make([]string, len(emails))
	for i, e := range emails {
		ins[i] = AddMemberInput{Email: e, Role: auth.RoleAgent}
		var err error
		if normalized[i], err = checkMember(&ins[i]); err != nil {
			errs.Add(fmt.Sprintf("emails[%d]", i), "must be a valid e-mail address")
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	out := []AddedMember{}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for i, in := range ins {
			m, added, err := s.addMember(ctx, tx, p, normalized[i], in)
			if err != nil {
				return err
			}
			if added {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

func checkMember(in *AddMemberInput) (email string, err error) {
	errs := domain.Errors{}
	email, err = domain.NormalizeEmail(in.Email)
	if err != nil || email == "" {
		errs.Add("email", "must be a valid e-mail address")
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Role == "" {
		in.Role = auth.RoleAgent
	}
	checkRole(errs, in.Role)
	if in.Name != "" {
		domain.CheckLength(errs, "name", in.Name, 1, 100)
	}
	return email, errs.Err()
}

// addMember invites one checked person to p's account in tx; added is false
// when they already are a member. Nobody joins before accepting: an address
// with an account gets an invitation like a new one, and the answer is made
// of the request and fresh ids only, so it tells nothing about whether the
// address has an account (nor that person's id or name).
func (s *Service) addMember(ctx context.Context, tx pgx.Tx, p auth.Principal, email string, in AddMemberInput) (out AddedMember, added bool, err error) {
	name := in.Name
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	var member bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.account_id = $1 AND lower(u.email) = lower($2))`, p.AccountID, email).Scan(&member); err != nil {
		return out, false, err
	}
	if member {
		return out, false, nil
	}
	token, sum, err := newSecret("inv_")
	if err != nil {
		return out, false, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	inv := &Invitation{Token: token, ExpiresAt: now.Add(s.invitationTTL)}
	id := eventstore.NewID()
	if _, err := tx.Exec(ctx, `INSERT INTO invitations (id, account_id, token_hash, invited_by, expires_at, email, role, name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, p.AccountID, sum, nullable(p.UserID), inv.ExpiresAt, email, in.Role, name); err != nil {
		return out, false, err
	}
	out = AddedMember{Member: Member{ID: id, Name: name, Email: email, Role: in.Role, JoinedAt: now}, Invitation: inv}
	return out, true, audit(ctx, tx, p, "member.invited", id, map[string]any{"email": email, "role": in.Role})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// errLastAdministrator keeps every account administrable.
var errLastAdministrator = &domain.Error{Code: "last_administrator", Err: domain.ErrInvalidState,
	Message: "an account needs at least one administrator: promote another member first"}

// lockMembers locks the account's memberships (so two administrators demoting
// each other at once cannot leave none) and returns userID's role and the
// number of administrators.
func lockMembers(ctx context.Context, tx pgx.Tx, accountID, userID string) (role string, admins int, err error) {
	rows, err := tx.Query(ctx, `SELECT user_id::text, role FROM memberships WHERE account_id = $1 FOR UPDATE`, accountID)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, r string
		if err := rows.Scan(&id, &r); err != nil {
			return "", 0, err
		}
		if r == auth.RoleAdministrator {
			admins++
		}
		if id == userID {
			role = r
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	if role == "" {
		return "", 0, domain.NotFound("user", userID)
	}
	return role, admins, nil
}

// UpdateMemberRole changes a member's role in p's account; the last
// administrator cannot be demoted. It takes effect on the member's next
// request (roles are read per request, not from the token).
func (s *Service) UpdateMemberRole(ctx context.Context, p auth.Principal, userID, role string) (Member, error) {
	errs := domain.Errors{}
	checkRole(errs, role)
	if err := errs.Err(); err != nil {
		return Member{}, err
	}
	if !isUUID(userID) {
		return Member{}, domain.NotFound("user", userID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, admins, err := lockMembers(ctx, tx, p.AccountID, userID)
		if err != nil {
			return err
		}
		if old == auth.RoleAdministrator && role != auth.RoleAdministrator && admins == 1 {
			return errLastAdministrator
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2`, p.AccountID, userID, role); err != nil {
			return err
		}
		return audit(ctx, tx, p, "member.role_changed", userID, map[string]any{"from": old, "to": role})
	})
	if err != nil {
		return Member{}, err
	}
	return s.Member(ctx, p.AccountID, userID)
}

// RemoveMember removes a user from p's account (the user and their other
// memberships stay): their tokens for the account stop working at once and
// their refresh tokens for it are revoked. Given the id of a pending
// invitation, it withdraws the invitation.
func (s *Service) RemoveMember(ctx context.Context, p auth.Principal, userID string) error {
	if !isUUID(userID) {
		return domain.NotFound("user", userID)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The id of a pending invitation (POST /agents answers it): withdraw it.
		tag, err := tx.Exec(ctx, `DELETE FROM invitations WHERE id = $1 AND account_id = $2 AND accepted_at IS NULL`, userID, p.AccountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return audit(ctx, tx, p, "member.invitation_withdrawn", userID, nil)
		}
		old, admins, err := lockMembers(ctx, tx, p.AccountID, userID)
		if err != nil {
			return err
		}
		if old == auth.RoleAdministrator && admins == 1 {
			return errLastAdministrator
		}
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE account_id = $1 AND user_id = $2`, p.AccountID, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
			WHERE account_id = $1 AND user_id = $2 AND revoked_at IS NULL`, p.AccountID, userID); err != nil {
			return err
		}
		return audit(ctx, tx, p, "member.removed", userID, map[string]any{"role": old})
	})
}

// AcceptInvitation makes the invited person a member of the account that
// invited them and signs them in. A new person chooses their password (and
// name); a person who already has an account proves it with their password.
func (s *Service) AcceptInvitation(ctx context.Context, token, name, password string) (Session, error) {
	errs := domain.Errors{}
	checkPassword(errs, "password", password)
	name = strings.TrimSpace(name)
	if name != "" {
		domain.CheckLength(errs, "name", name, 1, 100)
	}
	if err := errs.Err(); err != nil {
		return Session{}, err
	}
	sum := sha256.Sum256([]byte(token))
	var sess Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var userID, email, role, invName *string
		var accountID string
		err := tx.QueryRow(ctx, `UPDATE invitations SET accepted_at = now()
			WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2
			RETURNING user_id::text, account_id::text, email, role, name`,
			sum[:], s.now()).Scan(&userID, &accountID, &email, &role, &invName)
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.ErrInvalidToken
		}
		if err != nil {
			return err
		}
		var id, hash string
		if userID != nil { // made before invitations named addresses: the user and membership exist
			err = tx.QueryRow(ctx, `SELECT id::text, password_hash FROM users WHERE id = $1`, *userID).Scan(&id, &hash)
		} else {
			err = tx.QueryRow(ctx, `SELECT id::text, password_hash FROM users WHERE lower(email) = lower($1) FOR UPDATE`, deref(email)).Scan(&id, &hash)
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case id == "": // a new person
			newHash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
			if err != nil {
				return err
			}
			id = eventstore.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)`,
				id, deref(email), cmp.Or(name, deref(invName)), string(newHash)); err != nil {
				return err
			}
		case hash == "": // invited before, never chose a password
			newHash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, name = CASE WHEN $3 = '' THEN name ELSE $3 END,
				updated_at = now() WHERE id = $1`, id, string(newHash), name); err != nil {
				return err
			}
		default: // an existing account: its own password, and its name stays
			if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
				return auth.ErrInvalidCredentials
			}
		}
		if role != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				accountID, id, *role); err != nil {
				return err
			}
		}
		user, err := s.user(ctx, tx, id)
		if err != nil {
			return err
		}
		account, err := s.membership(ctx, tx, id, accountID)
		if err != nil {
			return auth.ErrInvalidToken // removed from the account meanwhile
		}
		sess, err = s.startSession(ctx, tx, user, account)
		return err
	})
	return sess, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Profile is the signed-in user and their accounts.
type Profile struct {
	User
	AccountID string    `json:"account_id"` // the active account (the token's)
	Role      string    `json:"role"`       // in the active account
	Accounts  []Account `json:"accounts"`
	CreatedAt time.Time `json:"created_at"`
}

// Profile returns p's user.
func (s *Service) Profile(ctx context.Context, p auth.Principal) (Profile, error) {
	var pr Profile
	err := s.pool.QueryRow(ctx, `SELECT id::text, name, display_name, email, created_at FROM users WHERE id = $1`, p.UserID).
		Scan(&pr.ID, &pr.Name, &pr.DisplayName, &pr.Email, &pr.CreatedAt)
	if err != nil {
		return pr, err
	}
	pr.AccountID, pr.Role = p.AccountID, p.Role
	pr.Accounts, err = s.Accounts(ctx, p.UserID)
	return pr, err
}

// ProfileUpdate changes the name, display name or password (which needs the
// current one).
type ProfileUpdate struct {
	Name                 *string `json:"name"`
	DisplayName          *string `json:"display_name"`
	CurrentPassword      string  `json:"current_password"`
	Password             string  `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
}

// UpdateProfile applies in to p's user. A password change signs every other
// session of the user out.
func (s *Service) UpdateProfile(ctx context.Context, p auth.Principal, in ProfileUpdate) (Profile, error) {
	errs := domain.Errors{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		domain.CheckLength(errs, "name", *in.Name, 1, 100)
	}
	if in.DisplayName != nil {
		*in.DisplayName = strings.TrimSpace(*in.DisplayName)
		domain.CheckLength(errs, "display_name", *in.DisplayName, 0, 100)
	}
	var newHash []byte
	if in.Password != "" || in.CurrentPassword != "" {
		checkPassword(errs, "password", in.Password)
		if in.PasswordConfirmation != nil && *in.PasswordConfirmation != in.Password {
			errs.Add("password_confirmation", "does not match password")
		}
		var hash string
		if err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, p.UserID).Scan(&hash); err != nil {
			return Profile{}, err
		}
		if in.CurrentPassword == "" {
			errs.Add("current_password", "is required to change the password")
		} else if bcrypt.CompareHashAndPassword([]byte(hash), []byte(in.CurrentPassword)) != nil {
			errs.Add("current_password", "is not the current password")
		}
		if len(errs) == 0 {
			var err error
			if newHash, err = bcrypt.GenerateFromPassword([]byte(in.Password), s.bcryptCost); err != nil {
				return Profile{}, err
			}
		}
	}
	if err := errs.Err(); err != nil {
		return Profile{}, err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET name = coalesce($2, name), display_name = coalesce($3, display_name),
				password_hash = coalesce($4, password_hash), updated_at = now() WHERE id = $1`,
			p.UserID, in.Name, in.DisplayName, nullable(string(newHash))); err != nil {
			return err
		}
		if newHash != nil {
			return revokeSessions(ctx, tx, "password_changed", `user_id = $1 AND id <> $2`, p.UserID, p.SessionID)
		}
		return nil
	})
	if err != nil {
		return Profile{}, err
	}
	return s.Profile(ctx, p)
}

// NotMembers returns the ids in userIDs that are not users of the account
// (malformed ids included), so that nothing of the account can point at
// another account's people.
func (s *Service) NotMembers(ctx context.Context, accountID string, userIDs []string) ([]string, error) {
	var valid, out []string
	for _, id := range userIDs {
		if isUUID(id) {
			valid = append(valid, id)
		} else {
			out = append(out, id)
		}
	}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM unnest($2::text[]) AS id
		WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = $1 AND m.user_id::text = lower(id))`, accountID, valid)
	if err != nil {
		return nil, err
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return append(out, missing...), err
}
