package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerify_SinceIsATimeOrADurationAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		since   string
		want    time.Time
		ok      bool
		wantErr string
	}{
		{"", time.Time{}, false, ""},
		{"30m", now.Add(-30 * time.Minute), true, ""},
		{"2026-11-26T11:00:00Z", now.Add(-time.Hour), true, ""},
		{"2026-11-26T13:00:00Z", time.Time{}, false, "in the future"},
		{"-5m", time.Time{}, false, "neither an RFC 3339 time"},
		{"soon", time.Time{}, false, "neither an RFC 3339 time"},
	}
	for _, tt := range tests {
		got, ok, err := (&Verify{Since: tt.since}).SinceAt(now)
		if !got.Equal(tt.want) || ok != tt.ok || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: %v %v %v", tt.since, got, ok, err)
		}
	}
}

func TestVerify_APlanMakesTheTargetFlagsOptional(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checks := filepath.Join(dir, "checks.yaml")
	if err := os.WriteFile(checks, []byte("checks: []"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Verify{Common: Common{OutDir: dir}, Notify: Notify{SlackAPIURL: "https://slack.com/api/", SlackTimeout: time.Second, SlackRetries: 1, GitLab: GitLab{Retries: 1}},
		PrometheusURL: "http://prometheus:9090", Checks: checks, PrometheusTimeout: time.Second, PrometheusRetries: 1}
	err := c.Validate()
	for _, want := range []string{"BG_APP", "BG_NAMESPACE", "BG_TARGET_COLOR", "BG_LIVE_COLOR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without a plan, %s must be required: %v", want, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("with a plan: %v", err)
	}
	c.PrometheusURL = "ftp://user:hunter2@prometheus"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a bad URL must be refused without echoing its password: %v", err)
	}
}
