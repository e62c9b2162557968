package auth

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Scope is a set of permissions an API key holds. Signed-in users hold every
// scope; what they may do is decided by their role.
type Scope uint8

// The scopes (the reference's read_contacts and write_contacts). Contact data
// means contacts, companies, groups, labels, imports and exports of one
// account; no scope lets a key manage the account (members, keys, settings).
const (
	ScopeReadContacts  Scope = 1 << iota // every read of contact data (REST GET, search, WS queries)
	ScopeWriteContacts                   // every write of contact data (REST POST/PUT/PATCH/DELETE, WS create/upload)

	ScopeAll = ScopeReadContacts | ScopeWriteContacts
)

var scopeNames = []struct {
	scope Scope
	name  string
}{
	{ScopeReadContacts, "read_contacts"},
	{ScopeWriteContacts, "write_contacts"},
}

// ScopeNames lists every scope name.
func ScopeNames() []string {
	out := make([]string, len(scopeNames))
	for i, s := range scopeNames {
		out[i] = s.name
	}
	return out
}

// ParseScopes reads scope names; an unknown name is an error.
func ParseScopes(names []string) (Scope, error) {
	var s Scope
	for _, n := range names {
		found := false
		for _, sn := range scopeNames {
			if sn.name == strings.TrimSpace(n) {
				s |= sn.scope
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown scope %q (want %s)", n, strings.Join(ScopeNames(), ", "))
		}
	}
	return s, nil
}

// Names lists the scope names in s, sorted.
func (s Scope) Names() []string {
	out := []string{}
	for _, sn := range scopeNames {
		if s&sn.scope != 0 {
			out = append(out, sn.name)
		}
	}
	sort.Strings(out)
	return out
}

// Principal is who a request acts as: a signed-in user (UserID, SessionID)
// or an API key (KeyID), always within one account.
type Principal struct {
	UserID    string // empty for API keys
	AccountID string
	Role      string // the user's role in the account; a key with write_contacts acts as administrator of contact data
	SessionID string // the user's sign-in session
	KeyID     string // the API key
	Scopes    Scope
	// Expires is when the access token (or an API key with an expiry) stops
	// being valid; zero: never (API keys without expires_at). Long-lived
	// connections (WebSocket) close then.
	Expires time.Time
}

// IsAdmin reports the administrator role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdministrator }

// IsKey reports a request made with an API key.
func (p Principal) IsKey() bool { return p.KeyID != "" }

// Can reports whether p holds every scope in s.
func (p Principal) Can(s Scope) bool { return p.Scopes&s == s }

// Actor is who the event store records as having acted: the user id, or
// "key:<id>" for an API key.
func (p Principal) Actor() string {
	if p.IsKey() {
		return "key:" + p.KeyID
	}
	return p.UserID
}

// ActorType is "user" or "api_key".
func (p Principal) ActorType() string {
	if p.IsKey() {
		return "api_key"
	}
	return "user"
}
