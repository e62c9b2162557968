package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/projections"
)

// projectionStatus answers how far each projection is behind the event
// store. It shows counts only, no account's data.
func (a *api) projectionStatus(c *gin.Context) {
	st, err := projections.Statuses(c.Request.Context(), a.Progress)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"projections": st})
}
