package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/notify"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack"
)

func driftCommand() *command {
	return &command{
		name:    "drift",
		summary: "check an environment for drift: blue/green invariants, git against live, Argo CD",
		about: `Checks one app (--app) or every app with an active Service in the namespace:
the blue/green invariants (the active Service selects the colour recorded at the
last switch and only its pods; that colour is Ready; the preview Service is
empty or on the newest colour; the idle colour is scaled down after its
rollback window; no orphaned coloured ConfigMaps or Secrets; no pending git
reconcile), the GitOps repo's manifests against the live objects (each
difference classed expected, benign or dangerous), and the Argo CD
Application's sync and health status and selfHeal/prune stance.

Writes <out>/drift.json and <out>/drift.junit.xml (one testcase per check per
app), keeps one GitLab issue per environment (created when drift appears,
updated while it lasts, closed when it clears), and tells Slack only when the
environment's state changes. --fix repairs a pending reconcile and an idle
colour past its window, each in one GitOps commit synced by Argo CD, under the
environment lock. Exit 0 clean, 1 drift, 2 configuration, 3 a system could not
be reached.

Tokens: BG_GITLAB_TOKEN reads the GitOps project (read_api) and keeps the issue
(api, Reporter, in BG_DRIFT_ISSUES_PROJECT, default this project); --fix commits
(Developer on the GitOps project). BG_ARGOCD_TOKEN: applications get (and sync
for --fix). The Kubernetes identity needs the Role in templates/kubernetes/rbac.yaml,
and, to compare the cluster-scoped objects in git, the optional ClusterRole in
templates/kubernetes/rbac-cluster.yaml.`,
		newConfig: func() validator { return &config.Drift{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			return runDrift(ctx, env, log, c.(*config.Drift))
		},
	}
}

func runDrift(ctx context.Context, env *Env, log *slog.Logger, cfg *config.Drift) error {
	ns := cfg.Namespace
	if ns == "" {
		ns = "default"
	}
	environment := cfg.EnvironmentName()
	label := environment
	if label == "" {
		label = ns
	}
	cl := newClients(cfg.Kubeconfig, cfg.GitLab, cfg.CI, log)
	defer cl.Close()
	kc, err := cl.Kube()
	if err != nil {
		return err
	}
	differ, err := cl.Differ()
	if err != nil {
		return err
	}
	md, err := cl.Metadata()
	if err != nil {
		return err
	}
	gl, err := cl.GitLab()
	if err != nil {
		return err
	}
	stage := &drift.Stage{
		Environment: label, Namespace: ns, OutDir: cfg.OutDir, JobURL: cfg.CI.JobURL,
		Project: cfg.GitOps.Project, Branch: cfg.GitOps.Branch, Folder: driftFolder(cfg.GitOps, environment),
		ArgoApp: cfg.ArgoCD.App, KeepRevisions: cfg.KeepRevisions,
		Fix: cfg.Fix, Holder: holder(cfg.CI, &plan.Plan{}), Timeout: cfg.Timeout, Drain: cfg.Drain,
		Live: drift.Kube{Dynamic: differ.Dynamic, Metadata: md, Mapper: differ.Mapper},
		Repo: gl, Lock: kube.Lock{Client: kc, TTL: cfg.LockTTL}, Services: kube.Services{Client: kc}, Capacity: kube.Capacity{Client: kc},
		IssueLabel: cfg.IssueLabel,
		Out:        env.Stdout, Log: log, Clock: env.Now,
	}
	if cfg.App != "" {
		stage.Apps = []string{cfg.App}
	}
	switch p := cfg.IssuesProject; {
	case p == "none":
	case p != "":
		stage.Issues, stage.IssuesProject = gl, p
	case projectRef(cfg.CI) != "":
		stage.Issues, stage.IssuesProject = gl, projectRef(cfg.CI)
	default:
		fmt.Fprintf(env.Stdout, "issue: no project (BG_DRIFT_ISSUES_PROJECT, or CI_PROJECT_ID in CI): none is kept, and Slack hears of every run with drift\n")
	}
	if cfg.SlackEnabled() {
		if stage.Announcer, err = newDriftAnnouncer(env, cfg); err != nil {
			return err
		}
	}
	if cfg.ArgoCD.Server != "" {
		argo, err := cl.ArgoCD(ctx, cfg.ArgoCD, false, env.Stdout)
		if err != nil {
			stage.ArgoCD = driftArgoDown{err}
		} else {
			stage.ArgoCD = argo
		}
	}
	_, err = stage.Run(ctx)
	return err
}

// driftFolder is each app's GitOps folder: BG_GITOPS_PATH with "{app}"
// replaced, else the folder sync uses.
func driftFolder(g config.GitOps, environment string) func(string) string {
	return func(app string) string {
		if strings.Contains(g.Path, "{app}") {
			return strings.TrimSuffix(strings.ReplaceAll(g.Path, "{app}", app), "/")
		}
		return g.Folder(environment, app)
	}
}

// driftArgoDown stands in for an Argo CD that could not be dialled: every
// Argo CD check errors (exit 3) while the other checks run.
type driftArgoDown struct{ err error }

func (d driftArgoDown) Inspect(context.Context, string, bool) (argocd.App, error) {
	return argocd.App{}, d.err
}

func (d driftArgoDown) SyncOnly(context.Context, string, string, []gitops.Object) error {
	return d.err
}

func (d driftArgoDown) WaitOperation(context.Context, string, string, func(string)) error {
	return d.err
}

// newDriftAnnouncer posts drift's changes of state to Slack with the
// "drift" template, secrets scrubbed.
func newDriftAnnouncer(env *Env, cfg *config.Drift) (notify.DriftAnnouncer, error) {
	tpl, err := notify.LoadTemplates(cfg.SlackTemplates)
	if err != nil {
		return notify.DriftAnnouncer{}, outcome.Usagef("BG_SLACK_TEMPLATES: %w", err)
	}
	a := notify.DriftAnnouncer{Channel: cfg.SlackChannel, Templates: tpl, Scrub: env.scrubText, Timeout: cfg.SlackTimeout}
	retry := slack.Retry{Attempts: cfg.SlackRetries}
	if cfg.SlackToken.IsSet() {
		a.Chat = slack.New(slack.Options{Token: cfg.SlackToken, APIURL: cfg.SlackAPIURL, Retry: retry})
	}
	if cfg.SlackWebhookURL.IsSet() {
		a.Webhook = slack.NewWebhook(cfg.SlackWebhookURL, nil, retry)
	}
	return a, nil
}
