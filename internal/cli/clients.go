package cli

import (
	"context"
	"io"
	"log/slog"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// clients is the one factory of a mode's clients: each is built from the
// mode's configuration when first asked for, once, so that a mode builds
// only what it uses (and `--help` builds nothing). Errors carry outcome
// kinds: a client that cannot be built from the configuration is a usage
// error.
type clients struct {
	kubeconfig string
	gitlabCfg  config.GitLab
	ci         config.CI
	log        *slog.Logger

	rest   *rest.Config
	kube   kubernetes.Interface
	differ *kube.Differ
	gitlab *gitlab.Client
	argo   []*argoAdapter
}

func newClients(kubeconfig string, g config.GitLab, ci config.CI, log *slog.Logger) *clients {
	return &clients{kubeconfig: kubeconfig, gitlabCfg: g, ci: ci, log: log}
}

// restConfig is the Kubernetes connection: --kubeconfig, else in-cluster.
func (c *clients) restConfig() (*rest.Config, error) {
	if c.rest == nil {
		rc, err := kube.RESTConfig(c.kubeconfig)
		if err != nil {
			return nil, err
		}
		c.rest = rc
	}
	return c.rest, nil
}

// Kube is the typed Kubernetes client.
func (c *clients) Kube() (kubernetes.Interface, error) {
	if c.kube == nil {
		rc, err := c.restConfig()
		if err != nil {
			return nil, err
		}
		if c.kube, err = kube.NewClient(rc); err != nil {
			return nil, outcome.As(outcome.Usage, err)
		}
	}
	return c.kube, nil
}

// Differ reads and dry-runs objects of any kind.
func (c *clients) Differ() (*kube.Differ, error) {
	if c.differ == nil {
		rc, err := c.restConfig()
		if err != nil {
			return nil, err
		}
		if c.differ, err = kube.NewDiffer(rc); err != nil {
			return nil, outcome.As(outcome.Usage, err)
		}
	}
	return c.differ, nil
}

// Dynamic is the dynamic client (the Differ's).
func (c *clients) Dynamic() (dynamic.Interface, error) {
	d, err := c.Differ()
	if err != nil {
		return nil, err
	}
	return d.Dynamic, nil
}

// Metadata reads objects' metadata only.
func (c *clients) Metadata() (metadata.Interface, error) {
	rc, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, outcome.Usagef("metadata client: %w", err)
	}
	return md, nil
}

// GitLab is the GitLab API client (BG_GITLAB_TOKEN).
func (c *clients) GitLab() (*gitlab.Client, error) {
	if c.gitlab == nil {
		gl, err := newGitLab(c.gitlabCfg, c.ci, c.log)
		if err != nil {
			return nil, outcome.Usagef("%w", err)
		}
		c.gitlab = gl
	}
	return c.gitlab, nil
}

// ArgoCD connects to Argo CD; quick first probes the address with a short
// dial (see reachArgoCD). Close closes it.
func (c *clients) ArgoCD(ctx context.Context, a config.ArgoCD, quick bool, out io.Writer) (*argoAdapter, error) {
	argo, err := reachArgoCD(ctx, a, quick, out)
	if err != nil {
		return nil, err
	}
	c.argo = append(c.argo, argo)
	return argo, nil
}

// Close closes the connections that need it.
func (c *clients) Close() {
	for _, a := range c.argo {
		a.Close()
	}
}

// newGitLab builds the GitLab client from BG_GITLAB_TOKEN, or fails when
// it is not configured.
func newGitLab(g config.GitLab, ci config.CI, log *slog.Logger) (*gitlab.Client, error) {
	return gitlab.New(gitlab.Options{URL: g.URL(ci), Token: g.Token, Retry: gitlab.Retry{Attempts: g.Retries}, Log: log})
}
