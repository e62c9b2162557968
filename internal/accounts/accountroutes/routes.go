// Package accountroutes is the HTTP side of internal/accounts: sign-up,
// sign-in, tokens, invitations, the caller's profile and accounts, and an
// account's administration (members, API keys, audit log). internal/web
// mounts them; it is apart from accounts so that the error table
// (internal/apierr), which knows the accounts' errors, stays below it.
package accountroutes

import (
	"github.com/gin-gonic/gin"

	"contacts/internal/accounts"
	"contacts/internal/web/edge"
)

// Routes are the account routes.
type Routes struct {
	edge.Edge
	Auth *accounts.Service
	// ThrottleLogin spends one sign-in attempt of email; false: the answer
	// (429) is written.
	ThrottleLogin func(c *gin.Context, email string) bool
	// RequireUser lets signed-in users on (not API keys).
	RequireUser gin.HandlerFunc
}

// MountAuth mounts sign-up, sign-in, refresh and accepting an invitation
// (no authentication) on g (/api/v1/auth).
func (a *Routes) MountAuth(g *gin.RouterGroup) {
	g.POST("/register", a.register)
	g.POST("/login", a.login)
	g.POST("/refresh", a.refresh)
	g.POST("/invitations/accept", a.acceptInvitation)
}

// MountSelf mounts the caller's own user (no account data) on me.
func (a *Routes) MountSelf(me *gin.RouterGroup) {
	me.GET("/auth/validate_token", a.validateToken)
	me.DELETE("/auth/sign_out", a.RequireUser, a.signOut)
	me.GET("/profile", a.RequireUser, a.getProfile)
	me.PUT("/profile", a.RequireUser, a.updateProfile)
	me.PATCH("/profile", a.RequireUser, a.updateProfile)
	me.PUT("/profile/set_active_account", a.RequireUser, a.setActiveAccount)
	me.GET("/accounts", a.RequireUser, a.listAccounts)
	me.POST("/accounts", a.RequireUser, a.createAccount)
}
