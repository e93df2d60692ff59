package outcome

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil is success", nil, 0},
		{"unclassified is external", base, 3},
		{"context deadline is external", context.DeadlineExceeded, 3},
		{"negative", Negativef("check %q failed", "errors"), 1},
		{"usage", Usagef("BG_APP: required"), 2},
		{"external", Externalf("argocd: %w", base), 3},
		{"locked", Lockedf("held by pipeline 7"), 4},
		{"kind survives wrapping", fmt.Errorf("render: %w", Usagef("bad colour")), 2},
		{"As keeps an existing kind", As(External, Usagef("x")), 2},
		{"As sets a missing kind", As(Negative, base), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorUnwraps(t *testing.T) {
	t.Parallel()
	base := errors.New("root cause")
	err := Externalf("gitlab: %w", base)
	if !errors.Is(err, base) {
		t.Fatalf("errors.Is lost the cause: %v", err)
	}
	if err.Error() != "gitlab: root cause" {
		t.Fatalf("message = %q", err.Error())
	}
	if As(Usage, nil) != nil {
		t.Fatal("As(nil) must be nil")
	}
}
