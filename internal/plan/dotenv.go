package plan

import (
	"fmt"
	"sort"
	"strings"
)

// DotenvName is the dotenv report GitLab passes to later jobs.
const DotenvName = "bluegreen.env"

// Dotenv renders vars as a GitLab dotenv report: KEY=value lines, sorted.
// GitLab's dotenv parser takes no quoting, so values must be single-line.
func Dotenv(vars map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := vars[k]
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("dotenv %s: value has a line break", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return []byte(b.String()), nil
}
