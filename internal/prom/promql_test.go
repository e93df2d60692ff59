package prom_test

import (
	"strconv"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/prom"
)

func TestEscapeString_IsTheInverseOfPromQLsUnquote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"checkout", "checkout"},
		{`x"} or vector(1) #`, `x\"} or vector(1) #`},
		{`a\b`, `a\\b`},
		{"a\nb", `a\nb`},
		{"tab\there", `tab\there`},
		{"ünï", "ünï"},
		{"\x00\xff", `\x00\xff`},
	}
	for _, tt := range tests {
		got := prom.EscapeString(tt.in)
		if got != tt.want {
			t.Errorf("EscapeString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if back, err := strconv.Unquote(`"` + got + `"`); err != nil || back != tt.in {
			t.Errorf("%q: PromQL reads %q back (%v)", tt.in, back, err)
		}
		if strings.ContainsAny(strings.ReplaceAll(got, `\"`, ""), "\"\n") {
			t.Errorf("%q: an unescaped quote or newline in %s", tt.in, got)
		}
	}
}
