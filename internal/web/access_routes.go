package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"contacts/internal/accounts"
	"contacts/internal/apierr"
)

// adminRoutes are the account's own administration (users only): the
// account and its settings, its members, its API keys, its audit log.
func (a *api) adminRoutes(g *gin.RouterGroup, self string) {
	g.GET(self, a.getAccount)
	g.PATCH(self, a.requireAdmin, a.updateAccount)
	g.PUT(self, a.requireAdmin, a.updateAccount)
	g.GET("/agents", a.listMembers)
	g.POST("/agents", a.requireAdmin, a.addMember)
	g.POST("/agents/bulk_create", a.requireAdmin, a.bulkAddMembers)
	g.GET("/agents/:user_id", a.getMember)
	g.PATCH("/agents/:user_id", a.requireAdmin, a.updateMember)
	g.PUT("/agents/:user_id", a.requireAdmin, a.updateMember)
	g.DELETE("/agents/:user_id", a.requireAdmin, a.removeMember)
	g.GET("/api_keys", a.requireAdmin, a.listAPIKeys)
	g.POST("/api_keys", a.requireAdmin, a.createAPIKey)
	g.GET("/api_keys/:key_id", a.requireAdmin, a.getAPIKey)
	g.DELETE("/api_keys/:key_id", a.requireAdmin, a.revokeAPIKey)
	g.GET("/audit_log", a.requireAdmin, a.auditLog)
}

// profileBody accepts the fields flat or wrapped in "profile" (as the
// Chatwoot reference sends them).
type profileBody struct {
	accounts.ProfileUpdate
	Profile *accounts.ProfileUpdate `json:"profile"`
}

func (a *api) getProfile(c *gin.Context) {
	prof, err := a.Auth.Profile(c.Request.Context(), principal(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, prof)
}

func (a *api) updateProfile(c *gin.Context) {
	var in profileBody
	if !a.bindJSON(c, &in) {
		return
	}
	up := in.ProfileUpdate
	if in.Profile != nil {
		up = *in.Profile
	}
	prof, err := a.Auth.UpdateProfile(c.Request.Context(), principal(c), up)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, prof)
}

type activeAccount struct {
	AccountID string `json:"account_id"`
}

type setActiveAccountBody struct {
	activeAccount
	Profile *activeAccount `json:"profile"`
}

// setActiveAccount issues tokens of the caller's session for another of
// their accounts.
func (a *api) setActiveAccount(c *gin.Context) {
	var in setActiveAccountBody
	if !a.bindJSON(c, &in) {
		return
	}
	id := in.AccountID
	if in.Profile != nil {
		id = in.Profile.AccountID
	}
	if id == "" {
		a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
			Fields: map[string]string{"account_id": "is required"}})
		return
	}
	sess, err := a.Auth.SwitchAccount(c.Request.Context(), principal(c), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	sendSession(c, http.StatusOK, sess)
}

func (a *api) listAccounts(c *gin.Context) {
	accounts, err := a.Auth.Accounts(c.Request.Context(), principal(c).UserID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"accounts": accounts})
}

type createAccountRequest struct {
	Name     string         `json:"name"`
	Settings map[string]any `json:"settings"`
}

func (a *api) createAccount(c *gin.Context) {
	var in createAccountRequest
	if !a.bindJSON(c, &in) {
		return
	}
	acc, err := a.Auth.CreateAccount(c.Request.Context(), principal(c), in.Name, in.Settings)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/accounts/"+acc.ID)
	c.JSON(http.StatusCreated, acc)
}

func (a *api) getAccount(c *gin.Context) {
	p := principal(c)
	acc, err := a.Auth.Account(c.Request.Context(), p.UserID, p.AccountID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, acc)
}

func (a *api) updateAccount(c *gin.Context) {
	var in accounts.UpdateAccountInput
	if !a.bindJSON(c, &in) {
		return
	}
	acc, err := a.Auth.UpdateAccount(c.Request.Context(), principal(c), in)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, acc)
}

func (a *api) listMembers(c *gin.Context) {
	members, err := a.Auth.Members(c.Request.Context(), principal(c).AccountID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, members)
}

func (a *api) getMember(c *gin.Context) {
	m, err := a.Auth.Member(c.Request.Context(), principal(c).AccountID, c.Param("user_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

// memberBody accepts the fields flat or wrapped in "agent" (the Chatwoot
// reference's shape).
type memberBody struct {
	accounts.AddMemberInput
	Agent *accounts.AddMemberInput `json:"agent"`
}

func (b memberBody) input() accounts.AddMemberInput {
	if b.Agent != nil {
		return *b.Agent
	}
	return b.AddMemberInput
}

func (a *api) addMember(c *gin.Context) {
	var in memberBody
	if !a.bindJSON(c, &in) {
		return
	}
	m, err := a.Auth.AddMember(c.Request.Context(), principal(c), in.input())
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

type bulkMembersRequest struct {
	Emails []string `json:"emails" binding:"required"`
}

// bulkAddMembers adds agents by e-mail, all or none (the Chatwoot
// reference's bulk_create); the answer lists who was added, with the
// invitations of new people.
func (a *api) bulkAddMembers(c *gin.Context) {
	var in bulkMembersRequest
	if !a.bindJSON(c, &in) {
		return
	}
	added, err := a.Auth.BulkAddMembers(c.Request.Context(), principal(c), in.Emails)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agents": added})
}

func (a *api) updateMember(c *gin.Context) {
	var in memberBody
	if !a.bindJSON(c, &in) {
		return
	}
	body := in.input()
	if body.Email != "" || body.Name != "" {
		a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
			Fields: map[string]string{"role": "only the role of a member can be changed here (their name and e-mail are theirs: /profile)"}})
		return
	}
	m, err := a.Auth.UpdateMemberRole(c.Request.Context(), principal(c), c.Param("user_id"), body.Role)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (a *api) removeMember(c *gin.Context) {
	if err := a.Auth.RemoveMember(c.Request.Context(), principal(c), c.Param("user_id")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *api) listAPIKeys(c *gin.Context) {
	keys, err := a.Auth.ListAPIKeys(c.Request.Context(), principal(c).AccountID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": keys})
}

func (a *api) createAPIKey(c *gin.Context) {
	var in accounts.CreateAPIKeyInput
	if !a.bindJSON(c, &in) {
		return
	}
	k, err := a.Auth.CreateAPIKey(c.Request.Context(), principal(c), in)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store") // the secret is in this answer, once
	c.JSON(http.StatusCreated, k)
}

func (a *api) getAPIKey(c *gin.Context) {
	k, err := a.Auth.GetAPIKey(c.Request.Context(), principal(c).AccountID, c.Param("key_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

func (a *api) revokeAPIKey(c *gin.Context) {
	k, err := a.Auth.RevokeAPIKey(c.Request.Context(), principal(c), c.Param("key_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

// auditLog pages the account's administrative changes, newest first:
// ?limit= (≤ 500, default 100) and ?before=<id>.
func (a *api) auditLog(c *gin.Context) {
	limit, before := 100, int64(0)
	bad := map[string]string{}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			bad["limit"] = "must be a whole number from 1 to 500"
		}
		limit = n
	}
	if s, ok := c.GetQuery("before"); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			bad["before"] = "must be an entry id"
		}
		before = n
	}
	if len(bad) > 0 {
		a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input", Fields: bad})
		return
	}
	entries, err := a.Auth.AuditLog(c.Request.Context(), principal(c).AccountID, before, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}
