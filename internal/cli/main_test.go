package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
