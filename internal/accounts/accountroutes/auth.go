package accountroutes

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/internal/accounts"
	"contacts/internal/web/edge"
)

func (a *Routes) register(c *gin.Context) {
	var in accounts.RegisterInput
	if !a.BindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.Register(c.Request.Context(), in)
	if err != nil {
		a.Fail(c, err)
		return
	}
	sendSession(c, http.StatusCreated, sess)
}

type loginRequest struct {
	Email     string `json:"email" binding:"required,max=320"`
	Password  string `json:"password" binding:"required,max=1024"`
	AccountID string `json:"account_id" binding:"omitempty,uuid"`
}

func (a *Routes) login(c *gin.Context) {
	var in loginRequest
	if !a.BindJSON(c, &in) {
		return
	}
	if !a.ThrottleLogin(c, in.Email) {
		return
	}
	sess, err := a.Auth.Login(c.Request.Context(), in.Email, in.Password, in.AccountID)
	if err != nil {
		a.Fail(c, err)
		return
	}
	sendSession(c, http.StatusOK, sess)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" binding:"required,max=1024"`
}

func (a *Routes) refresh(c *gin.Context) {
	var in refreshRequest
	if !a.BindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.Refresh(c.Request.Context(), in.RefreshToken)
	if err != nil {
		a.Fail(c, err)
		return
	}
	sendSession(c, http.StatusOK, sess)
}

type acceptInvitationRequest struct {
	Token    string `json:"token" binding:"required,max=1024"`
	Name     string `json:"name"`
	Password string `json:"password" binding:"required"`
}

func (a *Routes) acceptInvitation(c *gin.Context) {
	var in acceptInvitationRequest
	if !a.BindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.AcceptInvitation(c.Request.Context(), in.Token, in.Name, in.Password)
	if err != nil {
		a.Fail(c, err)
		return
	}
	sendSession(c, http.StatusOK, sess)
}

// signOut revokes the caller's session (?all=true: every session of the
// user): its refresh tokens and access tokens stop working.
func (a *Routes) signOut(c *gin.Context) {
	if err := a.Auth.SignOut(c.Request.Context(), edge.Principal(c), c.Query("all") == "true"); err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"success": true})
}

// validateToken tells who the token acts as.
func (a *Routes) validateToken(c *gin.Context) {
	p := edge.Principal(c)
	data := gin.H{"account_id": p.AccountID, "role": p.Role, "scopes": p.Scopes.Names()}
	if p.IsKey() {
		data["type"], data["id"] = "api_key", p.KeyID
	} else {
		prof, err := a.Auth.Profile(c.Request.Context(), p)
		if err != nil {
			a.Fail(c, err)
			return
		}
		data["type"], data["id"], data["email"], data["name"], data["display_name"] = "user", prof.ID, prof.Email, prof.Name, prof.DisplayName
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "data": data})
}

// sendSession answers tokens, which no cache may keep (RFC 6749 §5.1).
func sendSession(c *gin.Context, status int, sess accounts.Session) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(status, sess)
}
