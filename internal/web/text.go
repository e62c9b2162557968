package web

import (
	"github.com/gin-gonic/gin"

	"contacts/internal/text"
)

// checkText applies the text rule (internal/text: valid UTF-8, no NUL) to
// every query parameter and path parameter of every route, before any
// handler parses them: `?search=%00` is a validation_error naming
// "search", never a PostgreSQL error (22021) answered as a 500. JSON
// bodies are checked where they are read (readObject).
func (a *api) checkText(c *gin.Context) {
	if fe := text.CheckValues(c.Request.URL.Query()); fe != nil {
		a.fail(c, fe)
		return
	}
	for _, p := range c.Params {
		if err := text.Check(p.Value); err != nil {
			a.fail(c, &text.FieldError{Field: p.Key, Err: err})
			return
		}
	}
	c.Next()
}
