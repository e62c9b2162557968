package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// phoneReviewRoutes: stored phone numbers that were probably misread
// before numbers were parsed with a default region, for administrators to
// review (nothing is rewritten). POST …/scan flags them again from the
// current data; GET lists the last scan's flags.
func (a *api) phoneReviewRoutes(g *gin.RouterGroup) {
	if a.PhoneReview == nil {
		return
	}
	g.GET("/phone_review", a.requireUser, a.requireAdmin, a.listPhoneReview)
	g.POST("/phone_review/scan", a.requireUser, a.requireAdmin, a.scanPhoneReview)
}

func (a *api) listPhoneReview(c *gin.Context) {
	limit, offset, ok := a.page(c, 100, 1000)
	if !ok {
		return
	}
	rep, err := a.PhoneReview.List(c.Request.Context(), principal(c).AccountID, offset, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

func (a *api) scanPhoneReview(c *gin.Context) {
	scan, err := a.PhoneReview.Run(c.Request.Context(), principal(c).AccountID, c.Query(phoneRegionParam))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, scan)
}
