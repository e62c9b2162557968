package accountroutes

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"contacts/internal/accounts"
	"contacts/internal/apierr"
	"contacts/internal/web/edge"
)

// MountAdmin mounts the account's own administration (users only): the
// account and its settings, its members, its API keys, its audit log.
func (a *Routes) MountAdmin(g *gin.RouterGroup, self string) {
	g.GET(self, a.getAccount)
	g.PATCH(self, a.RequireAdmin, a.updateAccount)
	g.PUT(self, a.RequireAdmin, a.updateAccount)
	g.GET("/agents", a.listMembers)
	g.POST("/agents", a.RequireAdmin, a.addMember)
	g.POST("/agents/bulk_create", a.RequireAdmin, a.bulkAddMembers)
	g.GET("/agents/:user_id", a.getMember)
	g.PATCH("/agents/:user_id", a.RequireAdmin, a.updateMember)
	g.PUT("/agents/:user_id", a.RequireAdmin, a.updateMember)
	g.DELETE("/agents/:user_id", a.RequireAdmin, a.removeMember)
	g.GET("/api_keys", a.RequireAdmin, a.listAPIKeys)
	g.POST("/api_keys", a.RequireAdmin, a.createAPIKey)
	g.GET("/api_keys/:key_id", a.RequireAdmin, a.getAPIKey)
	g.DELETE("/api_keys/:key_id", a.RequireAdmin, a.revokeAPIKey)
	g.GET("/audit_log", a.RequireAdmin, a.auditLog)
}

// profileBody accepts the fields flat or wrapped in "profile" (as the
// Chatwoot reference sends them).
type profileBody struct {
	accounts.ProfileUpdate
	Profile *accounts.ProfileUpdate `json:"profile"`
}

func (a *Routes) getProfile(c *gin.Context) {
	prof, err := a.Auth.Profile(c.Request.Context(), edge.Principal(c))
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, prof)
}

func (a *Routes) updateProfile(c *gin.Context) {
	var in profileBody
	if !a.BindJSON(c, &in) {
		return
	}
	up := in.ProfileUpdate
	if in.Profile != nil {
		up = *in.Profile
	}
	prof, err := a.Auth.UpdateProfile(c.Request.Context(), edge.Principal(c), up)
	if err != nil {
		a.Fail(c, err)
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
func (a *Routes) setActiveAccount(c *gin.Context) {
	var in setActiveAccountBody
	if !a.BindJSON(c, &in) {
		return
	}
	id := in.AccountID
	if in.Profile != nil {
		id = in.Profile.AccountID
	}
	if id == "" {
		a.Fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
			Fields: map[string]string{"account_id": "is required"}})
		return
	}
	sess, err := a.Auth.SwitchAccount(c.Request.Context(), edge.Principal(c), id)
	if err != nil {
		a.Fail(c, err)
		return
	}
	sendSession(c, http.StatusOK, sess)
}

func (a *Routes) listAccounts(c *gin.Context) {
	accounts, err := a.Auth.Accounts(c.Request.Context(), edge.Principal(c).UserID)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"accounts": accounts})
}

type createAccountRequest struct {
	Name     string         `json:"name"`
	Settings map[string]any `json:"settings"`
}

func (a *Routes) createAccount(c *gin.Context) {
	var in createAccountRequest
	if !a.BindJSON(c, &in) {
		return
	}
	acc, err := a.Auth.CreateAccount(c.Request.Context(), edge.Principal(c), in.Name, in.Settings)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/accounts/"+acc.ID)
	c.JSON(http.StatusCreated, acc)
}

func (a *Routes) getAccount(c *gin.Context) {
	p := edge.Principal(c)
	acc, err := a.Auth.Account(c.Request.Context(), p.UserID, p.AccountID)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, acc)
}

func (a *Routes) updateAccount(c *gin.Context) {
	var in accounts.UpdateAccountInput
	if !a.BindJSON(c, &in) {
		return
	}
	acc, err := a.Auth.UpdateAccount(c.Request.Context(), edge.Principal(c), in)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, acc)
}

func (a *Routes) listMembers(c *gin.Context) {
	members, err := a.Auth.Members(c.Request.Context(), edge.Principal(c).AccountID)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, members)
}

func (a *Routes) getMember(c *gin.Context) {
	m, err := a.Auth.Member(c.Request.Context(), edge.Principal(c).AccountID, c.Param("user_id"))
	if err != nil {
		a.Fail(c, err)
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

func (a *Routes) addMember(c *gin.Context) {
	var in memberBody
	if !a.BindJSON(c, &in) {
		return
	}
	m, err := a.Auth.AddMember(c.Request.Context(), edge.Principal(c), in.input())
	if err != nil {
		a.Fail(c, err)
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
func (a *Routes) bulkAddMembers(c *gin.Context) {
	var in bulkMembersRequest
	if !a.BindJSON(c, &in) {
		return
	}
	added, err := a.Auth.BulkAddMembers(c.Request.Context(), edge.Principal(c), in.Emails)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agents": added})
}

func (a *Routes) updateMember(c *gin.Context) {
	var in memberBody
	if !a.BindJSON(c, &in) {
		return
	}
	body := in.input()
	if body.Email != "" || body.Name != "" {
		a.Fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
			Fields: map[string]string{"role": "only the role of a member can be changed here (their name and e-mail are theirs: /profile)"}})
		return
	}
	m, err := a.Auth.UpdateMemberRole(c.Request.Context(), edge.Principal(c), c.Param("user_id"), body.Role)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (a *Routes) removeMember(c *gin.Context) {
	if err := a.Auth.RemoveMember(c.Request.Context(), edge.Principal(c), c.Param("user_id")); err != nil {
		a.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *Routes) listAPIKeys(c *gin.Context) {
	keys, err := a.Auth.ListAPIKeys(c.Request.Context(), edge.Principal(c).AccountID)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": keys})
}

func (a *Routes) createAPIKey(c *gin.Context) {
	var in accounts.CreateAPIKeyInput
	if !a.BindJSON(c, &in) {
		return
	}
	k, err := a.Auth.CreateAPIKey(c.Request.Context(), edge.Principal(c), in)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store") // the secret is in this answer, once
	c.JSON(http.StatusCreated, k)
}

func (a *Routes) getAPIKey(c *gin.Context) {
	k, err := a.Auth.GetAPIKey(c.Request.Context(), edge.Principal(c).AccountID, c.Param("key_id"))
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

func (a *Routes) revokeAPIKey(c *gin.Context) {
	k, err := a.Auth.RevokeAPIKey(c.Request.Context(), edge.Principal(c), c.Param("key_id"))
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

// auditLog pages the account's administrative changes, newest first:
// ?limit= (≤ 500, default 100) and ?before=<id>.
func (a *Routes) auditLog(c *gin.Context) {
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
		a.Fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input", Fields: bad})
		return
	}
	entries, err := a.Auth.AuditLog(c.Request.Context(), edge.Principal(c).AccountID, before, limit)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}
