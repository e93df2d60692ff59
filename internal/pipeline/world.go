package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
	"gitlab.com/platform/bluegreen/internal/testenv"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// What every World deploys, and who approves it.
const (
	App         = scenario.App // "shop": the scenario histories carry its label
	Environment = "production"
	Channel     = "#deploys"
	Approver    = "qa-carol"
	// GitOpsProject is the GitOps project's path on the GitLab fake.
	GitOpsProject = "platform/gitops"
	// ProjectID is the application project's ID; the Slack messages look up
	// the approve job's play link through it.
	ProjectID = "1217"
)

// Secrets the jobs get as project variables. The tests prove that none of
// them reaches a job log, an artifact or a Slack message.
const (
	GitLabToken = "glpat-pipeline-e2e-5Kq8wZ"
	SlackToken  = "xoxb-pipeline-e2e-7Hn2vQ"
)

// Servers are the real servers that Worlds share.
type Servers struct {
	Cluster *testenv.Cluster
	ArgoCD  *testenv.ArgoCD
}

// WorldOptions say what green looks like.
type WorldOptions struct {
	// Green is the scenario family of the metrics Prometheus holds for the
	// release: "good" passes verify, "bad-error-rate" fails it (see
	// internal/verify/scenario).
	Green string
	// Live, when set, replaces Green's history with live counters that a
	// real Prometheus scrapes: the live traffic goes to whichever colour the
	// active Service selects, so a release can pass QA and fail under real
	// traffic after the switch.
	Live *Live
	// Log receives gitlab-ci-local's output as it runs; may be nil.
	Log io.Writer
}

// Live is the app's live counters: green's error rate under QA traffic
// (before the switch) and under live traffic (after it).
type Live struct {
	GreenIdle, GreenLive float64
}

// World is one application's slice of the real servers, and its project
// (see the package doc). Its fakes and servers end with tb.
type World struct {
	Cluster    *testenv.Cluster
	Namespace  string
	ArgoApp    string
	GitOps     *testenv.GitRepo
	GitLab     *gitlabtest.Server
	Slack      *slackfake.Server
	Prometheus *testenv.Prometheus
	Runner     *Runner
	// Metrics are the live counters of a world made with WorldOptions.Live.
	Metrics *testenv.AppMetrics
	// Since is when the release's observation starts: half an hour ago, so
	// that verify judges a generated history at once; zero with live
	// counters, whose observation starts when sync finished.
	Since time.Time
	// ApproveJobID is the last pipeline's approve job on the GitLab fake,
	// whose page the Slack messages link to for its play button.
	ApproveJobID int64

	tb        testing.TB
	runs      int
	last      []string // the last pipeline's variables
	scheduled bool     // the drift routes are registered
	argoToken string
}

// NewWorld sets up a World over s; it ends tb when anything cannot be had.
func NewWorld(tb testing.TB, s Servers, tools Tools, o WorldOptions) *World {
	tb.Helper()
	w := &World{Cluster: s.Cluster, Namespace: s.Cluster.Namespace(tb), tb: tb, argoToken: s.ArgoCD.Token()}
	kubeconfig := w.serviceAccount(tb)
	w.GitOps = testenv.NewGitRepo(tb)
	w.GitOps.Commit(tb, "init", map[string]string{"README.md": "gitops\n"})
	w.GitLab = gitlabtest.New(tb, gitlabtest.WithToken(GitLabToken))
	w.GitLab.Repository(GitOpsProject, w.GitOps.Dir())
	w.ArgoApp = App + "-" + w.Namespace
	s.ArgoCD.CreateApplication(tb, testenv.Application{
		Name: w.ArgoApp, RepoURL: w.GitOps.URL(), Path: Environment + "/" + App, Namespace: w.Namespace, Recurse: true,
	})
	checks := scenario.ChecksYAML
	// The history's checks judge 1m intervals; the live counters' 3s ones.
	timing := []string{"bake: 1m"}
	if o.Live != nil {
		// Since stays zero: verify observes green from the end of sync.
		w.Metrics = testenv.NewAppMetrics(tb, s.Cluster.Client(), w.Namespace, App)
		w.Metrics.Set("green", o.Live.GreenIdle, false)
		w.Metrics.SetUnderLoad("green", o.Live.GreenLive)
		w.Prometheus = testenv.NewPrometheus(tb, testenv.PrometheusOptions{ScrapeConfigs: w.Metrics.ScrapeConfig(App)})
		checks, timing = testenv.AppMetricsChecks, []string{"bake: 15s", "settle: 1s"}
	} else {
		w.history(tb, o.Green)
	}
	w.Slack = slackfake.New(tb, SlackToken)

	dir := filepath.Join(tb.TempDir(), "app")
	manifests, err := os.ReadFile(filepath.Join(tools.Root, "internal", "deploy", "testdata", "shop", "app.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	err = NewProject(dir, tools.Root, map[string]string{
		".gitlab-ci.yml":       w.projectCI(s.ArgoCD.Addr(), timing...),
		"deploy/shop/app.yaml": string(manifests),
		"deploy/checks.yaml":   checks,
		".gitignore":           ".gitlab-ci-local*\n",
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Project CI/CD variables, the tokens among them masked: never in the
	// repository.
	variables := map[string]string{
		"BG_GITLAB_TOKEN": GitLabToken, "BG_GITLAB_API_URL": w.GitLab.APIURL(),
		"BG_ARGOCD_TOKEN": s.ArgoCD.Token(),
		"BG_SLACK_TOKEN":  SlackToken, "BG_SLACK_API_URL": w.Slack.APIURL(),
		"KUBECONFIG": kubeconfig, "CI_PROJECT_ID": ProjectID,
	}
	data, err := yaml.Marshal(variables)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci-local-variables.yml"), data, 0o600); err != nil {
		tb.Fatal(err)
	}
	home := filepath.Join(tb.TempDir(), "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		tb.Fatal(err)
	}
	w.Runner = &Runner{Tools: tools, Dir: dir, Home: home, Log: o.Log}
	return w
}

// history gives the world a Prometheus holding the generated history of
// the scenario family named green.
func (w *World) history(tb testing.TB, green string) {
	tb.Helper()
	family, ok := scenario.FamilyNamed(green)
	if !ok {
		tb.Fatalf("no scenario family %q", green)
	}
	// verify judges the newest complete window, whenever its job runs: the
	// scenario's history starts half an hour ago and runs on a few minutes
	// past now, so that window always lies inside it.
	w.Since = time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	spec := family.Spec(1)
	spec.Window = 40 * time.Minute
	// The scenario's series carry namespace="bench"; this world's app lives in its own.
	history := strings.ReplaceAll(string(spec.History(w.Since).OpenMetrics()),
		`namespace="`+scenario.Namespace+`"`, `namespace="`+w.Namespace+`"`)
	if !strings.Contains(history, `namespace="`+w.Namespace+`"`) {
		tb.Fatalf("the %s history has no series to move to namespace %s", green, w.Namespace)
	}
	w.Prometheus = testenv.NewPrometheus(tb, testenv.PrometheusOptions{History: history})
}

// projectCI is the application's .gitlab-ci.yml: the whole pipeline
// component of this commit, with this world's servers and timing inputs.
func (w *World) projectCI(argoAddr string, timing ...string) string {
	return ProjectCI("pipeline", append([]string{
		"app: " + App,
		"environment: " + Environment,
		"namespace: " + w.Namespace,
		"manifests: deploy/shop",
		"image: registry.example.com/shop:$SHOP_VERSION",
		"gitops-project: " + GitOpsProject,
		"argocd-server: " + argoAddr,
		"argocd-app: " + w.ArgoApp,
		"argocd-plaintext: true",
		"argocd-url: https://argocd.example.com",
		"prometheus-url: " + w.Prometheus.URL(),
		"checks: deploy/checks.yaml",
		"since: $VERIFY_SINCE",
		`slack-channel: "` + Channel + `"`,
		"timeout: 90s",
		"drain: 2s", // a rollback drains the new colour before it scales it down
	}, timing...)...)
}

// serviceAccount gives the jobs a ServiceAccount bound to exactly the
// shipped Role and returns its kubeconfig.
func (w *World) serviceAccount(tb testing.TB) string {
	tb.Helper()
	var rules []rbacv1.PolicyRule
	for _, doc := range strings.Split(string(kubernetes.RBAC), "\n---\n") {
		var r rbacv1.Role
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			tb.Fatalf("templates/kubernetes/rbac.yaml: %v", err)
		}
		if r.Kind == "Role" && r.Name == "bluegreen" {
			rules = r.Rules
		}
	}
	if len(rules) == 0 {
		tb.Fatal("templates/kubernetes/rbac.yaml has no Role bluegreen")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := w.Cluster.ServiceAccountConfig(ctx, w.Namespace, "bluegreen", rules)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(path, cfg, w.Namespace); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Pipeline runs one pipeline of the project for release version (the image
// tag) through gitlab-ci-local; args pick manual jobs ("--manual",
// "approve") and, optionally, the jobs to run. Every run is a new pipeline
// ID, whose approve job the GitLab fake knows for the Slack play link.
func (w *World) Pipeline(ctx context.Context, version string, args ...string) *Run {
	w.tb.Helper()
	w.runs++
	id := int64(7000 + w.runs)
	w.ApproveJobID = id*10 + 3
	w.GitLab.PipelineJobs(ProjectID, id, gitlabtest.Job{ID: w.ApproveJobID, Name: "approve", Stage: "qa", Status: "manual"})
	since := ""
	if !w.Since.IsZero() {
		since = w.Since.UTC().Format(time.RFC3339)
	}
	w.last = []string{
		"SHOP_VERSION=" + version,
		"VERIFY_SINCE=" + since,
		fmt.Sprintf("CI_PIPELINE_ID=%d", id),
		// Whoever presses play on the manual jobs.
		"GITLAB_USER_LOGIN=" + Approver, "GITLAB_USER_ID=4242",
		"GITLAB_USER_NAME=Carol QA", "GITLAB_USER_EMAIL=carol@example.com",
	}
	return w.run(ctx, args...)
}

// Scheduled runs a scheduled pipeline, as a pipeline schedule would: only
// the drift job belongs in it.
func (w *World) Scheduled(ctx context.Context) *Run {
	w.tb.Helper()
	w.runs++
	w.last = []string{"CI_PIPELINE_SOURCE=schedule", fmt.Sprintf("CI_PIPELINE_ID=%d", 7000+w.runs)}
	if !w.scheduled {
		// drift keeps the environment's issue in the app's project (a
		// clean run only looks for it).
		w.scheduled = true
		w.GitLab.Issues(ProjectID)
		// doctor runs first and inspects the tokens it was given: a
		// project access token with api, at Maintainer on the GitOps
		// project, whose main is protected for Maintainers; a bot that may
		// post in the channel.
		w.GitLab.TokenSelf(gitlabtest.Token{Name: "gitops", Scopes: []string{"api"}, UserID: 7})
		w.GitLab.Project(gitlabtest.Project{PathWithNamespace: GitOpsProject, ProjectAccess: gitlabtest.Maintainer})
		w.GitLab.ProtectedBranches(GitOpsProject, gitlabtest.Maintainer, gitlabtest.Developer, gitlabtest.ProtectedBranch{Name: "main", Push: []int{gitlabtest.Maintainer}})
		w.Slack.Workspace(slackfake.Workspace{Scopes: []string{"chat:write", "channels:read"},
			Channels: []slackfake.Conversation{{Name: strings.TrimPrefix(Channel, "#"), IsMember: true}}})
	}
	return w.run(ctx)
}

// Play runs a manual job of the last pipeline later, as pressing play in
// GitLab would: same pipeline ID, and the artifacts of the jobs it needs.
func (w *World) Play(ctx context.Context, job string) *Run {
	w.tb.Helper()
	if w.runs == 0 {
		w.tb.Fatal("no pipeline to play a job of")
	}
	return w.run(ctx, "--manual", job, job)
}

func (w *World) run(ctx context.Context, args ...string) *Run {
	w.tb.Helper()
	// The pipeline ID and the approver are set on purpose: say so, and
	// gitlab-ci-local does not warn about them.
	full := []string{"--ignore-predefined-vars", "CI_PROJECT_ID,CI_PIPELINE_ID,GITLAB_USER_LOGIN,GITLAB_USER_ID,GITLAB_USER_NAME,GITLAB_USER_EMAIL"}
	for _, v := range w.last {
		full = append(full, "--variable", v)
	}
	run, err := w.Runner.Run(ctx, fmt.Sprintf(".gitlab-ci-local-%d", w.runs), append(full, args...)...)
	if err != nil {
		w.tb.Fatal(err)
	}
	return run
}

// FirstRelease deploys version as the app's first release: render and sync
// only, after which the active Service selects blue, so that the next
// release targets green with blue live.
func (w *World) FirstRelease(ctx context.Context, version string) {
	w.tb.Helper()
	run := w.Pipeline(ctx, version, "render", "sync")
	if run.Code != 0 {
		w.tb.Fatalf("first release: gitlab-ci-local exited %d\n%s", run.Code, run.Output)
	}
	if live, err := w.LiveColor(ctx); err != nil || live != plan.Blue {
		w.tb.Fatalf("after the first release the active Service selects %q (%v), want blue", live, err)
	}
}

// Secrets are the tokens the jobs were given.
func (w *World) Secrets() []string { return []string{GitLabToken, SlackToken, w.argoToken} }

// LiveColor reads the colour the active Service selects.
func (w *World) LiveColor(ctx context.Context) (plan.Color, error) {
	svc, err := w.Cluster.Client().CoreV1().Services(w.Namespace).Get(ctx, App, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return plan.Color(svc.Spec.Selector["bluegreen.dev/color"]), nil
}

// Replicas reads the desired replicas of the app's Deployment of colour c.
func (w *World) Replicas(ctx context.Context, c plan.Color) (int32, error) {
	d, err := w.Cluster.Client().AppsV1().Deployments(w.Namespace).Get(ctx, App+"-"+string(c), metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	if d.Spec.Replicas == nil {
		return 1, nil
	}
	return *d.Spec.Replicas, nil
}
