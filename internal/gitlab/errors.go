package gitlab

import (
	"errors"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Sentinels callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist, or the token cannot see it.
	ErrNotFound = errors.New("not found")
	// ErrDenied: the token is invalid, expired or lacks a scope or role.
	ErrDenied = errors.New("denied")
)

// Error is a failed GitLab call.
type Error struct {
	What   string // the call, e.g. `pipeline 42 of project 7`
	Status int    // HTTP status; 0 when the server was not reached
	Err    error
	// Message is GitLab's own words, before any hint was added.
	Message string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("gitlab %s: %v", e.What, e.Err)
	}
	return fmt.Sprintf("gitlab %s: HTTP %d: %v", e.What, e.Status, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// classify wraps err with what failed and gives it an outcome kind: 401 and
// 403 are configuration (exit 2: fix the token), everything else that is not
// a plain 404 is an external failure (exit 3: retry the job). A 404 carries
// no kind: whether it is bad is the caller's call.
func classify(what string, resp *gl.Response, err error) error {
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		// The client's message repeats the URL; keep GitLab's own message.
		err = errors.New(er.Message)
		if er.Message == "" {
			err = errors.New(http.StatusText(status))
		}
	}
	e := &Error{What: what, Status: status, Err: err, Message: err.Error()}
	switch {
	case status == http.StatusNotFound || errors.Is(err, gl.ErrNotFound):
		e.Err = fmt.Errorf("%w (or the token cannot see it)", ErrNotFound)
		return e
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Err = fmt.Errorf("%w: %v; check BG_GITLAB_TOKEN's scope (read_api) and role", ErrDenied, err)
		return outcome.As(outcome.Usage, e)
	}
	return outcome.As(outcome.External, e)
}
