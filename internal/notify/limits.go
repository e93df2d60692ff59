package notify

import (
	"errors"
	"fmt"
	"text/template/parse"
)

// Limits on the user's Slack templates: a template is code run in every
// job, so its file, its output and its loops are bounded.
const (
	// MaxTemplateFileSize bounds one template file.
	MaxTemplateFileSize = 256 << 10
	// MaxMessageSize bounds one rendered message: Slack's own limit on a
	// message's text is 40,000 characters.
	MaxMessageSize = 40000
	// MaxRangeDepth bounds how deeply range actions nest: the data's lists
	// are short, but ranges nested over them multiply.
	MaxRangeDepth = 2
)

// errTooLong ends a template's execution at MaxMessageSize.
var errTooLong = fmt.Errorf("slack template: the message is longer than %d bytes (notify.MaxMessageSize)", MaxMessageSize)

// limitedWriter takes at most max bytes, then fails every write.
type limitedWriter struct {
	buf []byte
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errTooLong
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// checkRanges refuses a template whose range actions nest deeper than
// MaxRangeDepth.
func checkRanges(name string, n parse.Node, depth int) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkRanges(name, c, depth); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		if depth+1 > MaxRangeDepth {
			return fmt.Errorf("slack template %q: range actions nest %d deep; at most %d (notify.MaxRangeDepth)", name, depth+1, MaxRangeDepth)
		}
		return errors.Join(checkRanges(name, n.List, depth+1), checkRanges(name, n.ElseList, depth+1))
	case *parse.IfNode:
		return errors.Join(checkRanges(name, n.List, depth), checkRanges(name, n.ElseList, depth))
	case *parse.WithNode:
		return errors.Join(checkRanges(name, n.List, depth), checkRanges(name, n.ElseList, depth))
	case *parse.TemplateNode:
		// {{template "x"}} runs another template inside this one's loops.
		if depth > 0 {
			return fmt.Errorf("slack template %q: {{template %q}} inside a range; call templates outside loops", name, n.Name)
		}
	}
	return nil
}
