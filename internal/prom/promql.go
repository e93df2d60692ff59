package prom

import "strconv"

// EscapeString escapes s as the contents of a double-quoted PromQL string,
// such as a label matcher's value: a backslash, a double quote, a newline
// and every other character Go would escape. PromQL reads such a string
// with Go's strconv.Unquote, so this is its exact inverse, and Prometheus
// prints label values the same way (model.LabelSet.String). The caller
// supplies the quotes.
func EscapeString(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
