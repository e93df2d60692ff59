package argocd

import "testing"

func TestVerdict_AcceptsALaterRevisionOnlyWhenSame(t *testing.T) {
	t.Parallel()
	ours, later := "aaaa", "bbbb"
	done := Status{Sync: Synced, Revision: later, Health: Healthy, Operation: &Operation{Phase: PhaseSucceeded, Revision: ours}}
	tests := []struct {
		name string
		st   Status
		same func(string) bool
		want bool
	}{
		{"at our revision", Status{Sync: Synced, Revision: ours, Health: Healthy}, nil, true},
		{"later revision, no check", done, nil, false},
		{"later revision with the same content", done, func(r string) bool { return r == later }, true},
		{"later revision with other content", done, func(string) bool { return false }, false},
		{"same content but our sync still running", Status{Sync: Synced, Revision: later, Health: Healthy, Operation: &Operation{Phase: PhaseRunning, Revision: ours}}, func(string) bool { return true }, false},
		{"same content but OutOfSync", Status{Sync: OutOfSync, Revision: later, Health: Healthy}, func(string) bool { return true }, false},
	}
	for _, tt := range tests {
		got, err := verdict(tt.st, ours, tt.same)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
