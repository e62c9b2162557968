package web

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"contacts/projections"
)

// projectionStatus answers how far each projection has got. A tenant sees its
// own account's events only (how far the read models have got with them):
// store-wide positions would tell it how much every other account writes. The
// store-wide figures are for operators: administrators of an account listed
// in CONTACTS_OPERATOR_ACCOUNTS (and `contacts projections status`).
func (a *api) projectionStatus(c *gin.Context) {
	ctx := c.Request.Context()
	p := principal(c)
	if !p.IsKey() && p.IsAdmin() && slices.Contains(a.OperatorAccounts, p.AccountID) {
		st, err := projections.Statuses(ctx, a.Progress)
		if err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"scope": "deployment", "projections": st})
		return
	}
	st, err := projections.AccountStatuses(ctx, a.Progress, p.AccountID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"scope": "account", "projections": st})
}
