package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// runCLI runs Main with args and a fixed environment.
func runCLI(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = Main(context.Background(), args, lookup, &out, &errb)
	return code, out.String(), errb.String()
}

const podinfo = "../render/testdata/input/podinfo-kustomize"

func TestMain_HelpListsModesAndExitCodes(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"--help"}, {"help"}, {"-h"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, want := range []string{"render", "version", "Exit codes"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help does not mention %q:\n%s", args, want, out)
			}
		}
	}
}

func TestMain_ModeHelpListsFlagsWithTheirVariables(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"render", "--help"}, {"help", "render"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{"--app", "$BG_APP", "--manifests", "$BG_MANIFESTS", "--live-color", "(default .bluegreen)"} {
			if !strings.Contains(out, want) {
				t.Errorf("render --help does not mention %q:\n%s", want, out)
			}
		}
	}
}

func TestMain_ModeHelpNamesTheSecretVariables(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "sync", "--help")
	if code != 0 || !strings.Contains(out, "BG_ARGOCD_TOKEN, BG_GITLAB_TOKEN, BG_SLACK_TOKEN") || strings.Contains(out, "--gitlab-token") {
		t.Fatalf("exit %d; sync --help must name the token variables and offer no token flags:\n%s", code, out)
	}
}

func TestMain_UnknownModeAndFlagAreUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, `unknown mode "deploy"`},
		{[]string{"render", "--colour", "blue"}, "flag provided but not defined: -colour"},
		{[]string{"render", "stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, nil, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestMain_Version(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "bluegreen ") {
			t.Errorf("%v: exit %d, out %q", args, code, out)
		}
	}
}

func TestRender_ConfigErrorsNameTheVariableAndWriteNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"nothing set", nil, nil, []string{"--app (BG_APP): required", "--manifests (BG_MANIFESTS): required", "--image (BG_IMAGE): required"}},
		{"bad colour", map[string]string{"BG_LIVE_COLOR": "purple"}, []string{"--app", "podinfo", "--manifests", podinfo, "--image", "r.example.com/p:1"}, []string{"--live-color (BG_LIVE_COLOR)", `"purple"`}},
		{"bad image", nil, []string{"--app", "podinfo", "--manifests", podinfo, "--image", "Not An Image"}, []string{"--image (BG_IMAGE)", `"Not An Image"`}},
		{"unset CI variable in image", nil, []string{"--app", "podinfo", "--manifests", podinfo, "--image", "registry.example.com/p:"}, []string{"--image (BG_IMAGE)"}},
		{"bad app name", nil, []string{"--app", "Pod_Info", "--manifests", podinfo, "--image", "r.example.com/p:1"}, []string{"--app (BG_APP)", "DNS label"}},
		{"missing manifests", nil, []string{"--app", "p", "--manifests", "does/not/exist", "--image", "r.example.com/p:1"}, []string{"--manifests (BG_MANIFESTS)", "does/not/exist"}},
		{"bad bool", map[string]string{"BG_VERBOSE": "maybe"}, []string{"--app", "p", "--manifests", podinfo, "--image", "r.example.com/p:1"}, []string{"BG_VERBOSE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			env := map[string]string{"BG_OUT": out}
			for k, v := range tt.env {
				env[k] = v
			}
			code, _, errOut := runCLI(t, env, append([]string{"render"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not mention %q", errOut, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output written despite a config error")
			}
		})
	}
}

func TestRender_FlagWinsOverVariable(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	env := map[string]string{
		"BG_APP": "podinfo", "BG_MANIFESTS": podinfo, "BG_OUT": out,
		"BG_IMAGE": "r.example.com/from-env:1", "BG_LIVE_COLOR": "green",
		"CI_PIPELINE_URL": "https://gitlab.example.com/shop/podinfo/-/pipelines/42", "CI_PIPELINE_ID": "42",
	}
	code, stdout, errOut := runCLI(t, env, "render", "--image", "r.example.com/from-flag:2", "--live-color=blue")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p, err := plan.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Image != "r.example.com/from-flag:2" || p.LiveColor != plan.Blue || p.TargetColor != plan.Green {
		t.Errorf("plan image %s live %s target %s; want the flag's values", p.Image, p.LiveColor, p.TargetColor)
	}
	if p.Pipeline.ID != 42 || p.Pipeline.URL != env["CI_PIPELINE_URL"] {
		t.Errorf("pipeline not taken from CI_* variables: %+v", p.Pipeline)
	}
	if !strings.Contains(stdout, "coloured   Deployment/podinfo → podinfo-green") {
		t.Errorf("job log lacks the per-object line:\n%s", stdout)
	}
}

func TestRender_ClusterUnreachableIsExit3(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	// A server on a closed loopback port: the read must fail fast and cleanly.
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n"
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, errOut := runCLI(t, map[string]string{"BG_OUT": out}, "render", "--app", "podinfo", "--manifests", podinfo, "--image", "r.example.com/p:1", "--kubeconfig", kubeconfig)
	if code != 3 || !strings.Contains(errOut, "read Service default/podinfo") {
		t.Fatalf("exit %d, stderr %q; want 3 naming the Service", code, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written although the live colour is unknown")
	}
}

// leakURL is a URL with credentials in its query, as an error might quote it.
const leakURL = "https://gitlab.example.com/api/v4/user?private_token=s3cret-pt&per_page=20&access_token=s3cret-at"

// assertMasked fails when a query credential of leakURL, or token, shows in
// any of the texts.
func assertMasked(t *testing.T, where, token string, texts ...string) {
	t.Helper()
	for _, s := range []string{"s3cret-pt", "s3cret-at", token} {
		if s == "" {
			continue
		}
		for _, txt := range texts {
			if strings.Contains(txt, s) {
				t.Errorf("%s shows %q:\n%s", where, s, txt)
			}
		}
	}
}

// tokenConfig is a mode's config holding a secret, as every real one does.
type tokenConfig struct {
	Token config.Secret `env:"BG_GITLAB_TOKEN"`
}

func (*tokenConfig) Validate() error { return nil }

// testMode is a mode for tests only, configured by a tokenConfig.
func testMode(name string, run func(context.Context, *Env, *slog.Logger, any) error) *command {
	return &command{name: name, summary: "a test mode", newConfig: func() validator { return &tokenConfig{} }, run: run}
}

// runWith runs Main with one more mode, cmd, and runs that mode.
func runWith(t *testing.T, env map[string]string, cmd *command) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = mainWith(context.Background(), append(commands(), cmd), []string{cmd.name}, lookup, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain_PanicIsExit70NeverExit2(t *testing.T) {
	t.Parallel()
	const token = "glpat-PANIC-LEAKCHECK-1234"
	tests := []struct {
		name  string
		panic func() error
		want  string // the value as the first line shows it
	}{
		{"a string quoting a URL", func() error { panic("GET " + leakURL + " failed") }, "GET https://gitlab.example.com/api/v4/user?private_token=[redacted]&per_page=20&access_token=[redacted] failed"},
		{"an error quoting the token", func() error { panic(fmt.Errorf("auth with %s refused", token)) }, "auth with [redacted] refused"},
		//lint:ignore SA5000 the row panics on purpose
		{"nil map", func() error { var m map[string]int; m["x"] = 1; return nil }, "assignment to entry in nil map"},
		{"nil pointer", func() error { var p *plan.Plan; return errors.New(p.App) }, "runtime error: invalid memory address or nil pointer dereference"},
		{"index out of range", func() error { s := []string{}; return errors.New(s[len(os.Args)+1]) }, "runtime error: index out of range"},
		{"panic(nil)", func() error { panic(nil) }, "panic called with nil argument"},
		{"several lines", func() error { panic("first\nsecond") }, `"first\nsecond"`},
		// A usage error on its way out must not survive a panic after it.
		{"while returning a usage error", func() (err error) {
			defer func() { panic("late") }()
			return outcome.Usagef("bad input")
		}, "late"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runWith(t, map[string]string{"BG_GITLAB_TOKEN": token}, testMode("crash", func(context.Context, *Env, *slog.Logger, any) error {
				return tt.panic()
			}))
			if code != outcome.CodeCrash || code == 2 {
				t.Fatalf("exit %d, want %d\n%s", code, outcome.CodeCrash, stderr)
			}
			first, stack, _ := strings.Cut(stderr, "\n")
			if want := "bluegreen: internal error (a bug in bluegreen, please report it): "; !strings.HasPrefix(first, want) || !strings.Contains(first, tt.want) {
				t.Errorf("first line %q, want %q and %q", first, want, tt.want)
			}
			if !strings.Contains(stack, "goroutine ") || !strings.Contains(stack, "main_test.go") {
				t.Errorf("no stack after the line:\n%s", stack)
			}
			assertMasked(t, "a crash report", token, stderr)
		})
	}
}

func TestExit_LocalFaultsAreExit2NeverExit3(t *testing.T) {
	t.Parallel()
	const token = "glpat-LOCAL-LEAKCHECK-1234"
	render := []string{"render", "--app", "podinfo", "--manifests", podinfo, "--image", "r.example.com/p:1", "--live-color", "blue"}
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"--out is a file", map[string]string{"BG_OUT": file}, render, "--out (BG_OUT): " + strconv.Quote(file) + " is a file, not a folder"},
		{"--out is under a file", map[string]string{"BG_OUT": filepath.Join(file, "out")}, render, "--out (BG_OUT): " + strconv.Quote(filepath.Join(file, "out")) + " cannot be a folder: not a directory"},
		{"--out is too long a name", map[string]string{"BG_OUT": filepath.Join(dir, strings.Repeat("o", 300))}, render, "cannot be a folder: file name too long"},
		{"app with a newline", map[string]string{"BG_OUT": filepath.Join(dir, "out"), "BG_APP": "web\nforged"}, render[:1], `--app (BG_APP): "web\nforged" is not a DNS label`},
		{"GitLab token with a newline", map[string]string{"BG_GITLAB_TOKEN": token + "\n"}, render, "BG_GITLAB_TOKEN: holds a newline or another control character"},
		{"Slack token with a header", map[string]string{"BG_SLACK_TOKEN": token + "\r\nX-Injected: 1"}, render, "BG_SLACK_TOKEN: holds a newline"},
		{"webhook with a NUL", map[string]string{"BG_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/" + token + "\x00"}, render, "BG_SLACK_WEBHOOK_URL: holds a newline"},
		{"job token with a tab", map[string]string{"CI_JOB_TOKEN": token + "\t"}, render, "CI_JOB_TOKEN: holds a newline"},
		{"Argo CD token with a newline", map[string]string{"BG_ARGOCD_TOKEN": token + "\n"}, []string{"sync"}, "BG_ARGOCD_TOKEN: holds a newline"},
		{"Prometheus token with a newline", map[string]string{"BG_PROMETHEUS_TOKEN": token + "\n"}, []string{"verify"}, "BG_PROMETHEUS_TOKEN: holds a newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			env := map[string]string{"BG_OUT": out}
			for k, v := range tt.env {
				env[k] = v
			}
			code, stdout, stderr := runCLI(t, env, tt.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasPrefix(stderr, "bluegreen: ") {
				t.Errorf("stderr is %d lines, want the one error line:\n%s", n, stderr)
			}
			assertMasked(t, "a configuration error", token, stdout, stderr)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output written despite a configuration error")
			}
		})
	}
}

func TestRedact_ErrorLineMasksURLCredentialsAndSecrets(t *testing.T) {
	t.Parallel()
	const token = "glpat-ERRLINE-LEAKCHECK-1234"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"external", outcome.Externalf("gitlab: Get %q: connection refused", leakURL), `gitlab: Get "https://gitlab.example.com/api/v4/user?private_token=[redacted]&per_page=20&access_token=[redacted]": connection refused`},
		{"usage", outcome.Usagef("--gitlab-api-url (BG_GITLAB_API_URL): %s is refused", leakURL), "private_token=[redacted]"},
		{"the configured token", fmt.Errorf("auth with %s: 401", token), "auth with [redacted]: 401"},
		{"a password", errors.New("dial https://bob:hunter2@gitlab.example.com/: refused"), "https://bob:xxxxx@gitlab.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runWith(t, map[string]string{"BG_GITLAB_TOKEN": token}, testMode("fail", func(context.Context, *Env, *slog.Logger, any) error {
				return tt.err
			}))
			if code != outcome.Code(tt.err) || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, outcome.Code(tt.err), tt.want)
			}
			assertMasked(t, "the error line", token, stderr)
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("the error line shows a password: %s", stderr)
			}
		})
	}
}
