package cli

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// editPlan rewrites the plan in dir.
func editPlan(t *testing.T, dir string, edit func(*plan.Plan)) {
	t.Helper()
	p, err := plan.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// unreachableKubeconfig is a kubeconfig for a cluster on a closed port:
// clients can be built from it, and any request fails.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExit2_TouchesNoChannelRepoOrPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		gitlabToken string // the token the GitLab fake accepts
		setup       func(t *testing.T, dir string, env map[string]string)
		args        []string
		want        string // in stderr
		wantCode    int
	}{
		{"approve a plan with no rendered digest", testGitLabToken, func(t *testing.T, dir string, _ map[string]string) {
			editPlan(t, dir, func(p *plan.Plan) { p.Rendered.Digest = "" })
		}, []string{"approve"}, "no rendered digest", 2},
		{"approve with a token GitLab rejects", "glpat-the-one-gitlab-knows", nil, []string{"approve"}, "BG_GITLAB_TOKEN", 2},
		{"promote without a sync", testGitLabToken, func(t *testing.T, dir string, env map[string]string) {
			editPlan(t, dir, func(p *plan.Plan) { p.Ledger = nil })
			env["KUBECONFIG"] = unreachableKubeconfig(t)
		}, []string{"promote", "--direct"}, "plan.json has no sync", 2},
		{"verify with a colour the plan does not have", testGitLabToken, func(t *testing.T, dir string, env map[string]string) {
			checks := filepath.Join(t.TempDir(), "checks.yaml")
			if err := os.WriteFile(checks, []byte(scenario.ChecksYAML), 0o644); err != nil {
				t.Fatal(err)
			}
			env["BG_CHECKS"], env["BG_PROMETHEUS_URL"] = checks, closedURL(t)
		}, []string{"verify", "--target-color", "blue"}, "--target-color (BG_TARGET_COLOR)", 2},
		{"promote in a namespace the plan is not for", testGitLabToken, func(t *testing.T, _ string, env map[string]string) {
			env["BG_NAMESPACE"], env["KUBECONFIG"] = "other-team", unreachableKubeconfig(t)
		}, []string{"promote", "--direct"}, `--namespace (BG_NAMESPACE) is "other-team"`, 2},
		// The contrast: a refusal (exit 1) is news, and is recorded.
		{"approve refused", testGitLabToken, func(t *testing.T, _ string, env map[string]string) {
			env["CI_DEPLOY_FREEZE"] = "true"
			env["BG_APPROVAL_FOUR_EYES"], env["BG_APPROVAL_GROUPS"] = "false", ""
		}, []string{"approve"}, "freeze", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeGreenPlan(t)
			gl := gitlabtest.New(t, gitlabtest.WithToken(tt.gitlabToken)) // no routes: any request the token passes fails the test
			sl := slackfake.New(t, testSlackToken)
			env := approveEnv(dir, gl.APIURL(), sl.APIURL())
			if tt.setup != nil {
				tt.setup(t, dir, env)
			}
			before := readFile(t, filepath.Join(dir, plan.FileName))

			code, stdout, stderr := runCLI(t, env, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want %d naming %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.want, stdout, stderr)
			}
			after := readFile(t, filepath.Join(dir, plan.FileName))
			calls := sl.Calls()
			if tt.wantCode != 2 {
				if len(calls) == 0 || after == before {
					t.Errorf("exit %d: Slack calls %d, plan changed %v; want both", code, len(calls), after != before)
				}
				return
			}
			if len(calls) != 0 {
				t.Errorf("exit 2 posted %d messages to Slack, the first %s %q", len(calls), calls[0].Method, calls[0].Text)
			}
			if after != before {
				t.Errorf("exit 2 rewrote plan.json:\nbefore %s\nafter  %s", before, after)
			}
			for _, r := range gl.Requests() {
				if r.Method != http.MethodGet {
					t.Errorf("exit 2 changed GitLab: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExit_SavingToAnUnusablePathIsUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		want outcome.Kind
	}{
		{"a folder", func(t *testing.T) string { return t.TempDir() }, outcome.OK},
		{"a folder to make", func(t *testing.T) string { return filepath.Join(t.TempDir(), "new") }, outcome.OK},
		{"under a file", func(t *testing.T) string {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(file, "out")
		}, outcome.Usage},
		{"a name too long", func(t *testing.T) string { return filepath.Join(t.TempDir(), strings.Repeat("n", 300)) }, outcome.Usage},
		{"plan.json is a folder", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, plan.FileName), 0o755); err != nil {
				t.Fatal(err)
			}
			return dir
		}, outcome.Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &record{plan: &plan.Plan{Schema: plan.SchemaVersion, App: "checkout"}, dir: tt.dir(t)}
			if err := r.save(); outcome.KindOf(err) != tt.want {
				t.Errorf("save: %v, kind %s; want %s", err, outcome.KindOf(err), tt.want)
			}
		})
	}
}

func TestRedact_QueryCredentialsNeverReachPlanSlackOrJUnit(t *testing.T) {
	t.Parallel()
	t.Run("a stage's error, through finish", func(t *testing.T) {
		t.Parallel()
		dir := writeGreenPlan(t)
		sl := slackfake.New(t, testSlackToken)
		env := approveEnv(dir, "http://127.0.0.1:1/api/v4", sl.APIURL())
		cmd := &command{name: "fail", newConfig: func() validator { return &config.Approve{} },
			run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
				cfg := c.(*config.Approve)
				p, err := loadPlan(cfg.OutDir, config.Common{})
				if err != nil {
					return err
				}
				rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, "approve")
				return rec.finish(ctx, outcome.Externalf("gitlab %s: Get %q: connection refused", testGitLabToken, leakURL))
			}}
		code, stdout, stderr := runWith(t, env, cmd)
		if code != 3 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		p, raw := readPlan(t, dir)
		last := p.Ledger[len(p.Ledger)-1]
		if last.Stage != "approve" || !strings.Contains(last.Message, "private_token=[redacted]") || !strings.Contains(last.Message, "gitlab [redacted]: Get") {
			t.Errorf("ledger message = %q", last.Message)
		}
		payloads := slackPayloads(sl.Calls())
		if !strings.Contains(payloads, "private_token=[redacted]") {
			t.Errorf("Slack was not told, or not masked: %s", payloads)
		}
		assertMasked(t, "output, plan or Slack", testGitLabToken, stdout, stderr, raw, payloads)
	})
	t.Run("a Prometheus URL with credentials, in verify", func(t *testing.T) {
		t.Parallel()
		w := newVerifyWorld(t, "")
		w.promURL = closedURL(t) + "/prom?access_token=s3cret-at&private_token=s3cret-pt"
		w.withPlan(t)
		sl := slackfake.New(t, testSlackToken)
		env := w.env(map[string]string{"BG_SLACK_TOKEN": testSlackToken, "BG_SLACK_CHANNEL": "#deploys", "BG_SLACK_API_URL": sl.APIURL(), "BG_SLACK_TIMEOUT": "5s"})
		code, stdout, stderr := runCLI(t, env, "verify")
		if code != 3 || !strings.Contains(stderr, "access_token=[redacted]") {
			t.Fatalf("exit %d, want 3 with the URL masked\n%s\n%s", code, stdout, stderr)
		}
		report := readFile(t, filepath.Join(w.dir, "verify.junit.xml"))
		if !strings.Contains(report, "private_token=[redacted]") {
			t.Errorf("JUnit report does not name the Prometheus:\n%s", report)
		}
		payloads := slackPayloads(sl.Calls())
		if !strings.Contains(payloads, "access_token=[redacted]") {
			t.Errorf("Slack was not told, or not masked: %s", payloads)
		}
		assertMasked(t, "output, plan, JUnit or Slack", "", stdout, stderr, readFile(t, filepath.Join(w.dir, plan.FileName)), report, payloads)
	})
}
