package cli

import (
	"context"
	"log/slog"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/doctor"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/verify"
)

func doctorCommand() *command {
	return &command{
		name:    "doctor",
		summary: "check every prerequisite of a release against the real systems, and say how to fix what is missing; changes nothing",
		about: `Runs with the pipeline's own configuration and only reads. Prints a
checklist, one line per item with ok, warn, FIX, skip or DOWN, and a fix for
each item that needs one:

  kubernetes  every verb of the Role in templates/kubernetes/rbac.yaml, through
              SelfSubjectAccessReview for the job's identity in the app's
              namespace; the active Service (absent: a first release, a
              warning), the live colour's Deployment or the app's Rollout, and
              the Lease bluegreen-<app> (absent is fine when create is allowed)
  gitlab      BG_GITLAB_TOKEN's scopes (api) and expiry, its role in the GitOps
              project, the branch, whether the role may push to it (the
              protected-branch rules, else GitLab's can_push), the Commits API,
              and the memberships of each of approve's allowed groups
  argocd      the account may get and sync the Application (Argo CD's can-i),
              its source.path is the GitOps folder, directory.recurse is on,
              self-heal is off
  prometheus  it answers, and every check's query is valid and gives exactly
              one series for the live colour
  slack       auth.test, the chat:write scope, and that the bot can post in the
              channel (a member, or chat:write.public for a public channel)

A system whose settings are absent is skipped (no BG_GITOPS_PROJECT, no
BG_ARGOCD_SERVER, no BG_PROMETHEUS_URL, no BG_SLACK_TOKEN). Writes
<out>/doctor.junit.xml, one testcase per item. Exit 0 all good (warnings
included), 1 something to fix, 2 a configuration error, 3 a system could not be
reached. Secrets never appear in the output.`,
		newConfig: func() validator { return &config.Doctor{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			return runDoctor(ctx, env, log, c.(*config.Doctor))
		},
	}
}

func runDoctor(ctx context.Context, env *Env, log *slog.Logger, cfg *config.Doctor) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	ns := cfg.Namespace
	if ns == "" {
		ns = "default"
	}
	cl := newClients(cfg.Kubeconfig, cfg.GitLab, cfg.CI, log)
	defer cl.Close()
	d := &doctor.Doctor{App: cfg.App, Namespace: ns, OutDir: cfg.OutDir, Out: env.Stdout, Now: env.Now, Scrub: env.scrubText}
	d.Systems = append(d.Systems, doctorKube(cl), doctorGitLab(cl, cfg, env), doctorArgo(ctx, cl, cfg, env),
		doctorProm(cfg, env), doctorSlack(cfg))
	_, err := d.Run(ctx)
	return err
}

// broken is a system whose client could not be built: one item saying why.
func broken(name, item string, err error, fix string) doctor.System {
	return doctor.System{Name: name, Run: func(context.Context, *doctor.State) []doctor.Result {
		return []doctor.Result{{Name: item, Verdict: doctor.Fix, Detail: err.Error(), Fix: fix}}
	}}
}

func doctorKube(cl *clients) doctor.System {
	kc, err := cl.Kube()
	if err != nil {
		return broken("kubernetes", "connection", err, "set KUBECONFIG (kubeconfig), or run the job in the cluster with the bluegreen ServiceAccount")
	}
	dyn, err := cl.Dynamic()
	if err != nil {
		return broken("kubernetes", "connection", err, "set KUBECONFIG (kubeconfig)")
	}
	rules, err := doctor.ShippedRules()
	if err != nil {
		return broken("kubernetes", "shipped Role", err, "a bug in bluegreen: please report it")
	}
	return doctor.Kubernetes(kube.Inspector{Client: kc, Dynamic: dyn}, rules)
}

func doctorGitLab(cl *clients, cfg *config.Doctor, env *Env) doctor.System {
	if cfg.GitOps.Project == "" && len(cfg.AllowedGroups) == 0 {
		return doctor.System{Name: "gitlab", Skipped: "no BG_GITOPS_PROJECT and no BG_APPROVAL_GROUPS"}
	}
	gl, err := cl.GitLab()
	if err != nil {
		return broken("gitlab", "client", err, "set BG_GITLAB_TOKEN and BG_GITLAB_API_URL")
	}
	return doctor.GitLab(gl, doctor.GitLabSetup{
		Project: cfg.GitOps.Project, Branch: cfg.GitOps.Branch, Folder: cfg.GitOps.Folder(cfg.EnvironmentName(), cfg.App),
		Groups: cfg.AllowedGroups, Now: env.Now,
	})
}

func doctorArgo(ctx context.Context, cl *clients, cfg *config.Doctor, env *Env) doctor.System {
	if cfg.ArgoCD.Server == "" {
		return doctor.System{Name: "argocd", Skipped: "no BG_ARGOCD_SERVER"}
	}
	a, err := cl.ArgoCD(ctx, cfg.ArgoCD, true, env.Stdout)
	if err != nil {
		return doctor.System{Name: "argocd", Run: func(context.Context, *doctor.State) []doctor.Result {
			return []doctor.Result{{Name: "connection", Verdict: doctor.Down, Detail: env.scrubText(err.Error()), Fix: "check BG_ARGOCD_SERVER and that argocd-server is reachable from the runner"}}
		}}
	}
	return doctor.ArgoCD(a.c, cfg.ArgoCD.App, cfg.GitOps.Folder(cfg.EnvironmentName(), cfg.App))
}

func doctorProm(cfg *config.Doctor, env *Env) doctor.System {
	if cfg.PrometheusURL == "" {
		return doctor.System{Name: "prometheus", Skipped: "no BG_PROMETHEUS_URL"}
	}
	client, err := newProm(cfg.Prometheus)
	if err != nil {
		return broken("prometheus", "client", err, "set BG_PROMETHEUS_URL to an http(s) URL")
	}
	var checks *verify.Checks
	if cfg.Checks != "" {
		if checks, err = verify.LoadChecks(cfg.Checks); err != nil {
			return broken("prometheus", "checks file "+cfg.Checks, err, "fix the checks file (internal/verify/README.md lists every field)")
		}
	}
	return doctor.Prometheus(client, checks, env.Now)
}

func doctorSlack(cfg *config.Doctor) doctor.System {
	switch {
	case cfg.SlackToken.IsSet():
		in := slack.NewInspector(slack.Options{Token: cfg.SlackToken, APIURL: cfg.SlackAPIURL, Retry: slack.Retry{Attempts: cfg.SlackRetries}})
		return doctor.Slack(in, cfg.SlackChannel)
	case cfg.SlackWebhookURL.IsSet():
		return doctor.System{Name: "slack", Skipped: "an incoming webhook cannot be checked without posting to it"}
	}
	return doctor.System{Name: "slack", Skipped: "no BG_SLACK_TOKEN"}
}
