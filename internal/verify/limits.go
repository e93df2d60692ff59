package verify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"gitlab.com/platform/bluegreen/internal/names"
)

// Limits on a checks file and on what its templates render, so that a
// broken or hostile file cannot exhaust the job's memory or time, and so
// that what verify records stays well inside plan.MaxSize. Each breach is
// a usage error (exit 2) that names the file, the check and the limit.
const (
	// MaxChecksFileSize is the largest checks file LoadChecks reads, in bytes.
	MaxChecksFileSize = 1 << 20
	// MaxChecks is the most checks one file may hold.
	MaxChecks = 200
	// MaxQuerySize is the longest query one template may render, in bytes,
	// for any valid app and namespace.
	MaxQuerySize = 64 << 10
	// MaxQueryTotal bounds all the file's queries together, rendered for
	// one colour, in bytes: plan.json records each as sent, for both colours.
	MaxQueryTotal = 256 << 10
	// MaxEvaluations bounds the intervals of all the file's checks together
	// (each check's window / interval); plan.json records each one's values.
	MaxEvaluations = 5000
)

// ErrQueryTooLong is wrapped by Render's error for a query that renders
// longer than MaxQuerySize.
var ErrQueryTooLong = fmt.Errorf("longer than %d bytes once rendered (verify.MaxQuerySize)", MaxQuerySize)

// The longest names a Target can hold: the rendered size of a query is
// checked with these when the file is loaded, so that no valid app fails
// on the limit in the middle of a run.
var (
	longestApp       = strings.Repeat("a", names.MaxPreviewService)
	longestHash      = strings.Repeat("a", names.MaxPodTemplateHash)
	longestNamespace = strings.Repeat("n", 63)
)

// limitWriter collects a template's output and refuses to grow past max,
// which ends the template's execution with ErrQueryTooLong.
type limitWriter struct {
	buf bytes.Buffer
	max int
}

func (w *limitWriter) Write(b []byte) (int, error) {
	if w.buf.Len()+len(b) > w.max {
		return 0, ErrQueryTooLong
	}
	return w.buf.Write(b)
}

// bounded refuses the template actions that loop or recurse: range, and
// template calls, which define and block need. A query template has
// nothing to range over, and without them its work is bounded by its
// length (the output by MaxQuerySize).
func bounded(t *template.Template) error {
	for _, d := range t.Templates() {
		if d.Name() != t.Name() {
			return errors.New("{{define}} and {{block}} are not allowed in a query")
		}
	}
	if t.Tree == nil {
		return nil // empty: Render says so
	}
	return boundedNode(t.Root)
}

func boundedNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := boundedNode(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return errors.Join(boundedNode(n.List), boundedNode(n.ElseList))
	case *parse.WithNode:
		return errors.Join(boundedNode(n.List), boundedNode(n.ElseList))
	case *parse.RangeNode:
		return errors.New("{{range}} is not allowed in a query: there is nothing to range over")
	case *parse.TemplateNode:
		return errors.New("{{template}} is not allowed in a query")
	}
	return nil
}

// budget adds a check's rendered query and its intervals to the file's
// totals, and reports the check at which a total first passes its limit.
func (p *problems) budget(label string, c *Check, queryBytes int) {
	before := p.queryBytes
	p.queryBytes += queryBytes
	if before <= MaxQueryTotal && p.queryBytes > MaxQueryTotal {
		p.add(label, "query", "the file's queries come to %d bytes with this one, rendered; at most %d for the whole file (verify.MaxQueryTotal)", p.queryBytes, MaxQueryTotal)
	}
	if c.Window <= 0 || c.Interval <= 0 {
		return
	}
	before = p.evaluations
	p.evaluations += c.Intervals()
	if before <= MaxEvaluations && p.evaluations > MaxEvaluations {
		p.add(label, "interval", "the file's checks make %d evaluations with this one; at most %d for the whole file (verify.MaxEvaluations)", p.evaluations, MaxEvaluations)
	}
}

// tooMany reports a file with more than MaxChecks checks, naming the first
// check beyond the limit.
func (p *problems) tooMany(n int, first string) {
	p.add(first, "", "the file has %d checks; at most %d (verify.MaxChecks)", n, MaxChecks)
}
