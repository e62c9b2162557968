package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/internal/apierr"
	"contacts/internal/auth"
)

func (a *api) register(c *gin.Context) {
	var in auth.RegisterInput
	if !a.bindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.Register(c.Request.Context(), in)
	if errors.Is(err, auth.ErrEmailTaken) {
		err = &apierr.Error{Status: http.StatusConflict, Code: "duplicate", Message: "this e-mail is already registered",
			Fields: map[string]string{"email": "already registered"}}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, sess)
}

type loginRequest struct {
	Email     string `json:"email" binding:"required"`
	Password  string `json:"password" binding:"required"`
	AccountID string `json:"account_id" binding:"omitempty,uuid"`
}

func (a *api) login(c *gin.Context) {
	var in loginRequest
	if !a.bindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.Login(c.Request.Context(), in.Email, in.Password, in.AccountID)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		err = apierr.New(http.StatusUnauthorized, "invalid_credentials", "invalid e-mail or password")
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sess)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" binding:"required"`
}

func (a *api) refresh(c *gin.Context) {
	var in refreshRequest
	if !a.bindJSON(c, &in) {
		return
	}
	sess, err := a.Auth.Refresh(c.Request.Context(), in.RefreshToken)
	if errors.Is(err, auth.ErrInvalidToken) {
		err = apierr.New(http.StatusUnauthorized, "invalid_token", "refresh token is invalid, expired or already used")
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sess)
}
