package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const token = "glpat-very-secret-value"

func TestSecret_NeverPrintsItsValue(t *testing.T) {
	t.Parallel()
	s := Secret(token)
	type holder struct {
		Token Secret `json:"token"`
		Name  string
	}
	h := holder{Token: s, Name: "x"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("msg", "token", s, "holder", h)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("msg", "token", s)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %10s", s, h, h, s, s, s, s, s),
		s.String(), s.GoString(), string(js), logs.String(),
		fmt.Errorf("auth with %v failed: %w", s, errors.New("401")).Error(),
	}
	for _, out := range outputs {
		if strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(string(js), `"token":"[redacted]"`) {
		t.Errorf("JSON = %s", js)
	}
	if s.Reveal() != token || !s.IsSet() || Secret("").IsSet() {
		t.Error("Reveal/IsSet broken")
	}
}

type sample struct {
	Common
	Token   Secret        `env:"BG_TOKEN" flag:"token" help:"a token"`
	Timeout time.Duration `env:"BG_TIMEOUT, default=10m" flag:"timeout" help:"deadline"`
	Count   int           `env:"BG_COUNT" flag:"count" help:"how many"`
}

func (s *sample) Validate() error { return nil }

func load(t *testing.T, env map[string]string, args ...string) (*sample, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var cfg sample
	b := Bind(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	err := b.Load(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return &cfg, err
}

func TestBind_FlagWinsOverVariableAndDefaultsApply(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, map[string]string{"BG_APP": "env-app", "BG_NAMESPACE": "env-ns", "CI_PIPELINE_ID": "77", "BG_TOKEN": token},
		"--app", "flag-app", "--verbose")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.App != "flag-app" || cfg.Namespace != "env-ns" || !cfg.Verbose {
		t.Errorf("app %q ns %q verbose %v", cfg.App, cfg.Namespace, cfg.Verbose)
	}
	if cfg.Timeout != 10*time.Minute || cfg.OutDir != ".bluegreen" || cfg.CI.PipelineID != 77 {
		t.Errorf("defaults/CI: timeout %v out %q pipeline %d", cfg.Timeout, cfg.OutDir, cfg.CI.PipelineID)
	}
	if cfg.Token.Reveal() != token {
		t.Error("secret not loaded")
	}
}

func TestBind_BadValuesNameVariableAndFlagButNotSecrets(t *testing.T) {
	t.Parallel()
	_, err := load(t, map[string]string{"BG_TIMEOUT": "ten minutes", "CI_PIPELINE_ID": "abc", "BG_COUNT": "x"})
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{`--timeout (BG_TIMEOUT): "ten minutes" is not a valid duration`, `CI_PIPELINE_ID: "abc" is not a valid whole number`, "--count (BG_COUNT)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !IsProblem(err) {
		t.Error("IsProblem = false")
	}
}

func TestCommon_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Common
		want string
	}{
		{Common{App: "checkout", OutDir: ".bluegreen"}, ""},
		{Common{OutDir: "x"}, "--app (BG_APP): required"},
		{Common{App: "Check_out", OutDir: "x"}, "--app (BG_APP)"},
		{Common{App: strings.Repeat("a", 48), OutDir: "x"}, "at most 47"},
		{Common{App: "a", Namespace: "Bad NS", OutDir: "x"}, "--namespace (BG_NAMESPACE)"},
		{Common{App: "a"}, "--out (BG_OUT)"},
	}
	for _, tt := range tests {
		var ps Problems
		tt.c.Validate(&ps)
		got := ""
		if err := ps.Err(); err != nil {
			got = err.Error()
		}
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%+v: got %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestValidImage(t *testing.T) {
	t.Parallel()
	good := []string{"nginx", "nginx:1.27", "ghcr.io/stefanprodan/podinfo:6.9.0", "registry.example.com:5000/a/b/c:v1.2-rc.1",
		"r.example.com/app@sha256:" + strings.Repeat("a", 64), "r.example.com/app:1@sha256:" + strings.Repeat("0", 64)}
	bad := []string{"", "Nginx", "https://r.example.com/a:1", "r.example.com/a:", "a b", "r.example.com//a", ":1", "a:1:2"}
	for _, s := range good {
		if !validImage(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range bad {
		if validImage(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
