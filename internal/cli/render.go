package cli

import (
	"context"
	"log/slog"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
)

func renderCommand() *command {
	return &command{
		name:    "render",
		summary: "build the idle colour's manifests from the app's own manifests",
		about: `Reads the app's manifests (a folder of YAML, one multi-document file, or a
kustomization), decides the live colour (--live-color, else the active Service
in the cluster; none means a first release, which targets blue), and renders the
target colour: Deployment <name>-<colour> with the release image, its ConfigMaps
and Secrets copied as immutable <name>-<colour>-<hash>, HPA and PDB retargeted,
each Service split into the active Service and <name>-preview. Writes
<out>/rendered/, <out>/plan.json and <out>/bluegreen.env. Nothing is written on
bad input (exit 2).`,
		newConfig: func() validator { return &config.Render{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			cfg := c.(*config.Render)
			if err := checkNotify(cfg.Notify); err != nil {
				return err
			}
			stage := &render.Stage{
				Rules: render.Rules{
					App: cfg.App, Namespace: cfg.Namespace, Image: cfg.Image,
					Container: cfg.Container, Deployment: cfg.Deployment, Live: plan.Color(cfg.LiveColor),
				},
				Manifests: cfg.Manifests, Root: cfg.Root(), AllowRemote: cfg.AllowRemote,
				OutDir: cfg.OutDir,
				Reader: lazyLiveReader{kubeconfig: cfg.Kubeconfig},
				Plan: plan.Plan{
					Environment: cfg.EnvironmentName(),
					Commit:      cfg.CI.CommitSHA,
					Pipeline:    plan.Pipeline{ProjectPath: cfg.CI.ProjectPath, ID: cfg.CI.PipelineID, URL: cfg.CI.PipelineURL},
				},
				Out: env.Stdout, Log: log, Now: env.Now,
			}
			carryThread(cfg.OutDir, cfg.CI.PipelineID, &stage.Plan)
			rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, nil, plan.Render)
			p, err := stage.Run(ctx)
			if err != nil {
				return err // nothing was written, and bad input is not news for the channel
			}
			rec.plan = p
			return rec.finish(ctx, nil)
		},
	}
}

// carryThread keeps the Slack thread of an earlier render in the same
// pipeline (a retried job), so that one deployment stays one thread.
func carryThread(dir string, pipelineID int64, into *plan.Plan) {
	old, err := plan.Load(dir)
	if err != nil || pipelineID == 0 || old.Pipeline.ID != pipelineID {
		return
	}
	into.Slack, into.Notifications = old.Slack, old.Notifications
}

// lazyLiveReader builds the Kubernetes client only when render needs the
// cluster, so that `render --live-color` works with no cluster at all.
type lazyLiveReader struct{ kubeconfig string }

func (l lazyLiveReader) LiveColor(ctx context.Context, namespace, service string) (plan.Color, error) {
	cs, err := newClients(l.kubeconfig, config.GitLab{}, config.CI{}, nil).Kube()
	if err != nil {
		return "", err
	}
	return kube.Services{Client: cs}.LiveColor(ctx, namespace, service)
}
