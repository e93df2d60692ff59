package plan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
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

// ParseDotenv reads a dotenv report as GitLab does: KEY=value lines, with
// blank lines and # comments skipped and no quoting.
func ParseDotenv(data []byte) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[strings.TrimSpace(k)] = v
		}
	}
	return vars
}

// MergeDotenv sets vars in the dotenv report at path and removes the keys
// in remove, keeping every other key an earlier stage wrote, atomically. A
// file that would not change is not written.
func MergeDotenv(path string, vars map[string]string, remove ...string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	merged := ParseDotenv(data) // empty when there is no file
	for k, v := range vars {
		merged[k] = v
	}
	for _, k := range remove {
		delete(merged, k)
	}
	out, err := Dotenv(merged)
	if err != nil {
		return err
	}
	if bytes.Equal(out, data) { // also: no file, and nothing to write
		return nil
	}
	return WriteFileAtomic(path, out)
}
