package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

func TestBind_SecretsWithControlCharactersAreRefusedUnshown(t *testing.T) {
	t.Parallel()
	// Every secret variable of the modes that hold them.
	targets := map[string]func() any{
		"BG_GITLAB_TOKEN": func() any { return &Sync{} }, "BG_ARGOCD_TOKEN": func() any { return &Sync{} },
		"BG_SLACK_TOKEN": func() any { return &Approve{} }, "BG_SLACK_WEBHOOK_URL": func() any { return &Approve{} },
		"BG_PROMETHEUS_TOKEN": func() any { return &Verify{} }, "CI_JOB_TOKEN": func() any { return &Render{} },
	}
	values := []struct{ name, value string }{
		{"trailing newline", token + "\n"},
		{"header injection", token + "\r\nX-Forwarded-For: 10.0.0.1"},
		{"NUL", token + "\x00"},
		{"tab", "glpat\t" + token},
		{"DEL", token + "\x7f"},
		{"C1 next line", token + "\u0085"},
	}
	for env, target := range targets {
		for _, v := range values {
			t.Run(env+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				b := Bind(flag.NewFlagSet("t", flag.ContinueOnError), target())
				err := b.Load(context.Background(), func(k string) (string, bool) { return v.value, k == env })
				if err == nil || !IsProblem(err) {
					t.Fatalf("accepted, or not a config problem: %v", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, env+": holds a newline or another control character") {
					t.Errorf("error does not name %s: %s", env, msg)
				}
				if strings.Contains(msg, token) || strings.Contains(msg, strconv.Quote(v.value)) {
					t.Errorf("error shows the value: %s", msg)
				}
			})
		}
	}
	for _, good := range []string{token, "https://hooks.slack.com/services/T0/B0/abc", "tok with spaces"} {
		if _, err := load(t, map[string]string{"BG_TOKEN": good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

func TestBind_SecretsListsTheSetSecretValues(t *testing.T) {
	t.Parallel()
	var cfg Sync
	b := Bind(flag.NewFlagSet("t", flag.ContinueOnError), &cfg)
	env := map[string]string{"BG_GITLAB_TOKEN": "glpat-1", "BG_ARGOCD_TOKEN": "argo-2", "CI_JOB_TOKEN": "job-3", "BG_APP": "not-a-secret"}
	if err := b.Load(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	got := b.Secrets()
	slices.Sort(got)
	if want := []string{"argo-2", "glpat-1", "job-3"}; !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
}

func TestCommon_Validate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{Common{App: "a", OutDir: dir}, ""},
		{Common{App: "a", OutDir: filepath.Join(dir, "new", "folder")}, ""}, // made later
		{Common{App: "a", OutDir: file}, "--out (BG_OUT): " + strconv.Quote(file) + " is a file, not a folder"},
		{Common{App: "a", OutDir: filepath.Join(file, "sub")}, "--out (BG_OUT): " + strconv.Quote(filepath.Join(file, "sub")) + " cannot be a folder: not a directory"},
		{Common{App: "a", OutDir: filepath.Join(dir, strings.Repeat("x", 300))}, "cannot be a folder: file name too long"},
		{Common{App: "a", OutDir: "x", Environment: "review/fix-login"}, ""},
		{Common{App: "a", OutDir: "x", Environment: "production/../other-app"}, "--environment (BG_ENVIRONMENT)"},
		{Common{App: "a", OutDir: "x", CI: CI{EnvironmentName: "prod\nforged"}}, "CI_ENVIRONMENT_NAME"},
		{Common{App: "a", OutDir: "x", Environment: "production", CI: CI{EnvironmentName: "../x"}}, ""}, // BG_ENVIRONMENT wins
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

func TestRender_RootIsTheProjectFolderWhenThereIsOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		flag, ci, want string
	}{
		{"/src/app", dir, "/src/app"},
		{"", dir, dir},
		{"", "/builds/no/such/folder", ""}, // the manifests folder: the strictest
		{"", "", ""},
	}
	for _, tt := range tests {
		c := Render{ProjectDir: tt.flag}
		c.CI.ProjectDir = tt.ci
		if got := c.Root(); got != tt.want {
			t.Errorf("--project-dir %q, CI_PROJECT_DIR %q: %q, want %q", tt.flag, tt.ci, got, tt.want)
		}
	}
}
