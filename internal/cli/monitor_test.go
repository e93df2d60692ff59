package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestMonitor_NeedsAFinishedPromoteStillLiveAndABakeWithinTheWindow(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	promoted := func() *plan.Plan {
		p := &plan.Plan{TargetColor: plan.Green, LiveColor: plan.Blue}
		p.Append(plan.Result{Stage: plan.Promote, Outcome: "ok", Started: at, Finished: at})
		p.Traffic = &plan.Traffic{Live: plan.Green, Previous: plan.Blue, Mode: "gitops", SwitchedAt: at, IdleUntil: at.Add(10 * time.Minute)}
		return p
	}
	if got, err := monitorStart(promoted(), 10*time.Minute); err != nil || !got.Equal(at) {
		t.Errorf("a promoted plan: %v %v, want the switch time", got, err)
	}
	tests := []struct {
		name string
		edit func(*plan.Plan)
		bake time.Duration
		want string
	}{
		{"no promote", func(p *plan.Plan) { p.Ledger, p.Traffic = nil, nil }, time.Minute, "no finished promote"},
		{"a failed promote", func(p *plan.Plan) { p.Ledger[0].Outcome = "external" }, time.Minute, "no finished promote"},
		{"rolled back", func(p *plan.Plan) { p.Traffic.Live = plan.Blue }, time.Minute, "traffic is on blue"},
		{"bake beyond the window", func(*plan.Plan) {}, 11 * time.Minute, "longer than the rollback window 10m0s"},
	}
	for _, tt := range tests {
		p := promoted()
		tt.edit(p)
		_, err := monitorStart(p, tt.bake)
		if outcome.KindOf(err) != outcome.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want exit 2 with %q", tt.name, err, tt.want)
		}
	}
}

func TestMonitor_BadSettingsAndChecksAreExit2NamingThem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before := filepath.Join(dir, "before.yaml")
	if err := os.WriteFile(before, []byte("checks:\n  - name: e\n    query: x{color=\"{{.Color}}\"}\n    max: 1\n    when: before-switch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("checks:\n  - name: e\n    query: x{color=\"{{.Color}}\"}\n    max: 1\n    when: later\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"BG_OUT": dir, "BG_PROMETHEUS_URL": "http://127.0.0.1:1", "BG_DIRECT": "true", "BG_CHECKS": before}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BG_ON_INCONCLUSIVE": "maybe"}, `--on-inconclusive (BG_ON_INCONCLUSIVE): "maybe": want hold or rollback`},
		{map[string]string{"BG_BAKE": "0s"}, "--bake (BG_BAKE): must be positive"},
		{map[string]string{"BG_CHECKS": bad}, `check "e": when: "later": want before-switch, after-switch or always`},
		{nil, "no check runs after the switch"},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tt.env {
			env[k] = v
		}
		code, out, errOut := runCLI(t, env, "monitor")
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, want 2 with %q\n%s%s", tt.env, code, tt.want, out, errOut)
		}
	}
}
