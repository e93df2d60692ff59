package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"k8s.io/client-go/metadata"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/kube"
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
	rc, err := kube.RESTConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	kc, err := kube.NewClient(rc)
	if err != nil {
		return outcome.As(outcome.Usage, err)
	}
	differ, err := kube.NewDiffer(rc)
	if err != nil {
		return outcome.As(outcome.Usage, err)
	}
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return outcome.Usagef("metadata client: %w", err)
	}
	gl, err := newGitLab(cfg.GitLab, cfg.CI, log)
	if err != nil {
		return outcome.Usagef("%w", err)
	}
	stage := &drift.Stage{
		Environment: label, Namespace: ns, OutDir: cfg.OutDir, JobURL: cfg.CI.JobURL,
		Project: cfg.GitOps.Project, Branch: cfg.GitOps.Branch, Folder: driftFolder(cfg.GitOps, environment),
		ArgoApp: cfg.ArgoCD.App, KeepRevisions: cfg.KeepRevisions,
		Fix: cfg.Fix, Holder: holder(cfg.CI, &plan.Plan{}), Timeout: cfg.Timeout, Poll: 500 * time.Millisecond,
		Live: drift.Kube{Dynamic: differ.Dynamic, Metadata: md, Mapper: differ.Mapper},
		Repo: gl, Lock: kube.Lock{Client: kc, TTL: cfg.LockTTL}, Services: kube.Services{Client: kc},
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
		stage.Announcer = newDriftAnnouncer(cfg)
	}
	if cfg.ArgoCD.Server != "" {
		argo, err := newArgoCD(ctx, cfg.ArgoCD, env.Stdout)
		if err != nil {
			stage.ArgoCD = driftArgoDown{err}
		} else {
			defer argo.Close()
			stage.ArgoCD = driftArgo{argo.c}
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

// driftArgo gives drift its small Argo CD interface, without Argo CD types.
type driftArgo struct{ c *argocd.Client }

func (d driftArgo) Inspect(ctx context.Context, app string, refresh bool) (drift.ArgoApp, error) {
	a, err := d.c.Inspect(ctx, app, refresh)
	if err != nil {
		return drift.ArgoApp{}, argoKind(err)
	}
	out := drift.ArgoApp{
		Sync: string(a.Sync), Revision: a.Revision, Health: string(a.Health), HealthMessage: a.HealthMessage,
		Automated: a.Policy.Automated, SelfHeal: a.Policy.SelfHeal, Prune: a.Policy.Prune,
	}
	if op := a.Operation; op != nil {
		out.Operation = &drift.ArgoOperation{Phase: string(op.Phase), Revision: op.Revision, Message: op.Message}
		if op.Pending {
			out.Operation.Phase = "Pending"
		}
	}
	pruning := map[string]bool{}
	for _, r := range a.Pruning {
		pruning[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name] = true
	}
	for _, r := range a.Resources {
		out.Resources = append(out.Resources, drift.ArgoResource{
			Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Sync: string(r.Sync), Health: string(r.Health), Message: r.Message,
			RequiresPruning: pruning[r.Group+"/"+r.Kind+"/"+r.Namespace+"/"+r.Name],
		})
	}
	for _, c := range a.Conditions {
		if strings.HasSuffix(c.Type, "Error") {
			out.Conditions = append(out.Conditions, c.Type+": "+c.Message)
		}
	}
	return out, nil
}

func (d driftArgo) SyncOnly(ctx context.Context, app, revision string, rs []drift.ArgoResource, prune bool) error {
	refs := make([]argocd.ResourceRef, len(rs))
	for i, r := range rs {
		refs[i] = argocd.ResourceRef{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	}
	return argoKind(d.c.SyncOnly(ctx, app, revision, refs, prune))
}

// driftArgoDown stands in for an Argo CD that could not be dialled: every
// Argo CD check errors (exit 3) while the other checks run.
type driftArgoDown struct{ err error }

func (d driftArgoDown) Inspect(context.Context, string, bool) (drift.ArgoApp, error) {
	return drift.ArgoApp{}, d.err
}

func (d driftArgoDown) SyncOnly(context.Context, string, string, []drift.ArgoResource, bool) error {
	return d.err
}

// driftAnnouncer posts drift's changes of state to Slack: through the bot
// into the channel (a message of its own, not a deployment's thread), else
// through the webhook. Secrets are scrubbed from every line.
type driftAnnouncer struct {
	chat    *slack.Client
	webhook *slack.Webhook
	channel string
	cfg     config.Notify
	scrub   func(string) string
}

func newDriftAnnouncer(cfg *config.Drift) driftAnnouncer {
	a := driftAnnouncer{channel: cfg.SlackChannel, cfg: cfg.Notify, scrub: scrubber(cfg.Notify, cfg.CI)}
	retry := slack.Retry{Attempts: cfg.SlackRetries}
	if cfg.SlackToken.IsSet() {
		a.chat = slack.New(slack.Options{Token: cfg.SlackToken, APIURL: cfg.SlackAPIURL, Retry: retry})
	}
	if cfg.SlackWebhookURL.IsSet() {
		a.webhook = slack.NewWebhook(cfg.SlackWebhookURL, nil, retry)
	}
	return a
}

func (d driftAnnouncer) Announce(ctx context.Context, a drift.Announcement) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.SlackTimeout)
	defer cancel()
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	emoji := ":rotating_light:"
	if !a.Drift {
		emoji = ":white_check_mark:"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s*", emoji, esc.Replace(d.scrub(a.Title)))
	for _, l := range a.Lines {
		fmt.Fprintf(&b, "\n• %s", esc.Replace(d.scrub(l)))
	}
	var links []string
	if a.IssueURL != "" {
		links = append(links, fmt.Sprintf("<%s|issue>", a.IssueURL))
	}
	if a.JobURL != "" {
		links = append(links, fmt.Sprintf("<%s|drift job>", a.JobURL))
	}
	if len(links) > 0 {
		b.WriteString("\n" + strings.Join(links, " · "))
	}
	msg := slack.Message{Text: b.String()}
	if d.chat != nil {
		if _, err := d.chat.Post(ctx, d.channel, "", msg); err == nil || d.webhook == nil {
			return err
		}
	}
	if d.webhook != nil {
		return d.webhook.Post(ctx, msg)
	}
	return nil
}
