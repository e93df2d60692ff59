package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/render"
	"gitlab.com/platform/bluegreen/internal/scaffold"
)

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "write the one-time set-up of an app (Argo CD, RBAC, checks, the include) into a folder",
		about: `Reads the app's manifests as render does (--manifests: a folder of YAML, one
multi-document file, or a kustomization, relative to the app repository's root,
where init runs) and writes into --out everything the app needs before its first
release, applying nothing and committing nothing:

  argocd/application.yaml         the Argo CD Application: source.path the GitOps
                                  folder <environment>/<app> (--gitops-path) with
                                  directory.recurse, automated sync without selfHeal
  argocd/appproject.yaml          the AppProject (only for an --argocd-project other
                                  than default): the GitOps repo and the app's namespace
  argocd/argocd-cm.patch.yaml     the local account --argocd-account (accounts.<name>: apiKey)
  argocd/argocd-rbac-cm.patch.yaml  its policy: get and sync on <project>/<argocd-app> only
  kubernetes/rbac.yaml            the ServiceAccount, Role and RoleBinding bluegreen in the
                                  app's namespace (the shipped Role)
  kubernetes/token.yaml           the ServiceAccount's token Secret, for KUBECONFIG
  app-repo/<checks>               starter checks: error rate, p99 latency against the
                                  live colour, and request rate after the switch, for
                                  --metrics http, grpc or istio
  app-repo/.gitlab-ci.yml         the include of the pipeline component, inputs filled in
  NEXT-STEPS.txt                  what to apply, commit and set (the masked variables),
                                  in order, ending with bluegreen doctor

The namespace is --namespace, else the manifests' own, else "default". Manifests
render would refuse are refused here too, naming the file and the field. Every
name is checked (DNS labels, host:port, URLs without credentials) and a bad one
is exit 2 naming its flag. --out must not exist or be empty: a non-empty folder
is refused unless --force, which replaces the files init writes and leaves the
others alone.`,
		newConfig: func() validator { return &config.Init{} },
		run: func(_ context.Context, env *Env, log *slog.Logger, c any) error {
			return runInit(env, log, c.(*config.Init))
		},
	}
}

func runInit(env *Env, log *slog.Logger, cfg *config.Init) error {
	// The manifests are relative to the app repository's root, where init runs:
	// a kustomization may use any local file inside it, as in the pipeline.
	app, err := scaffold.Inspect(render.Input{Path: cfg.Manifests, Root: "."}, scaffold.Rules{
		App: cfg.App, Namespace: cfg.Namespace, Deployment: cfg.Deployment, Container: cfg.Container,
	})
	if err != nil {
		return outcome.As(outcome.Usage, err)
	}
	spec := scaffold.Spec{
		App: cfg.App, Environment: cfg.Environment, Namespace: app.Namespace,
		Manifests: filepath.ToSlash(filepath.Clean(cfg.Manifests)), Deployment: cfg.Deployment, Container: cfg.Container,
		Image:  cfg.Image,
		GitOps: scaffold.GitOps{Project: cfg.GitOpsProject, Branch: cfg.GitOpsBranch, Path: cfg.GitOpsPath},
		ArgoCD: scaffold.ArgoCD{
			Server: cfg.ArgoCDServer, App: cfg.ArgoCDApp, Project: cfg.ArgoCDProject, RepoURL: cfg.ArgoCDRepoURL,
			Namespace: cfg.ArgoCDNamespace, Account: cfg.ArgoCDAccount, Destination: cfg.Destination,
		},
		PrometheusURL: cfg.PrometheusURL, Metrics: cfg.Metrics, Checks: cfg.Checks, SlackChannel: cfg.SlackChannel,
		Component: cfg.Component, ComponentVersion: componentVersion(cfg.ComponentVersion, version),
	}
	files, err := scaffold.Generate(spec, app)
	if err != nil {
		return err
	}
	if err := scaffold.Write(cfg.Out, files); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(env.Stdout, "wrote %s\n", filepath.Join(cfg.Out, f.Path))
	}
	for _, w := range app.Warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(env.Stdout, "nothing was applied: %s says what to apply, commit and set, then run bluegreen doctor\n", filepath.Join(cfg.Out, scaffold.NextStepsFile))
	log.Info("init", "app", cfg.App, "environment", cfg.Environment, "out", cfg.Out, "files", len(files))
	return nil
}

var releaseTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)

// componentVersion is the include's version: the one asked for, else this
// binary's release, else ~latest (GitLab's newest released version).
func componentVersion(asked, binary string) string {
	switch {
	case asked != "":
		return asked
	case releaseTag.MatchString(binary):
		return strings.TrimPrefix(binary, "v")
	}
	return "~latest"
}
