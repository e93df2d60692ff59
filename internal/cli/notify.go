package cli

import (
	"context"
	"log/slog"
	"strconv"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/notify"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack"
)

// notifyStage tells Slack how stage ended (stageErr nil: it succeeded), in
// the deployment's thread. Call it after the stage ran, then save p: it
// records the thread and every delivery in p. It never fails and never
// changes the stage's outcome; Slack gets at most BG_SLACK_TIMEOUT, and a
// message Slack did not take is sent again by the next stage. With neither
// BG_SLACK_TOKEN nor BG_SLACK_WEBHOOK_URL it does nothing.
func notifyStage(ctx context.Context, env *Env, log *slog.Logger, cfg config.Notify, ci config.CI, cl *clients, p *plan.Plan, stage plan.Stage, stageErr error) {
	if !cfg.SlackEnabled() || p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.SlackTimeout)
	defer cancel()
	scrub := env.scrubText
	n := newNotifier(env, log, cfg, ci, cl, scrub)
	n.Notify(ctx, p, stageEvent(env, p, stage, stageErr, ci))
}

// checkNotify is the part of the notification settings that can only be
// checked by loading them: the templates. Modes call it before their stage,
// so that a broken template is a configuration error (exit 2) and not a
// silent fallback.
func checkNotify(cfg config.Notify) error {
	if _, err := notify.LoadTemplates(cfg.SlackTemplates); err != nil {
		return outcome.Usagef("BG_SLACK_TEMPLATES: %w", err)
	}
	return nil
}

func newNotifier(env *Env, log *slog.Logger, cfg config.Notify, ci config.CI, cl *clients, scrub func(string) string) *notify.Notifier {
	log = log.With("component", "notify")
	n := &notify.Notifier{
		Channel: cfg.SlackChannel,
		Site: notify.Site{
			ServerURL: ci.ServerURL, ProjectPath: ci.ProjectPath, ProjectID: projectRef(ci),
			MergeRequestIID: ci.MergeRequestIID, ArgoCDURL: cfg.ArgoCDURL, ApproveJob: cfg.ApproveJob,
		},
		Scrub: scrub, Now: env.Now, Log: log, Out: env.Stdout,
	}
	retry := slack.Retry{Attempts: cfg.SlackRetries}
	if cfg.SlackToken.IsSet() {
		n.Chat = slack.New(slack.Options{Token: cfg.SlackToken, APIURL: cfg.SlackAPIURL, Retry: retry})
	}
	if cfg.SlackWebhookURL.IsSet() {
		n.Webhook = slack.NewWebhook(cfg.SlackWebhookURL, nil, retry)
	}
	if gl, err := cl.GitLab(); err == nil {
		n.Jobs = gl
	}
	tpl, err := notify.LoadTemplates(cfg.SlackTemplates)
	if err != nil {
		log.Warn("slack templates not loaded; using the defaults", "err", scrub(err.Error()))
		tpl = notify.DefaultTemplates()
	}
	n.Templates = tpl
	return n
}

// stageEvent is what the stage reports: its outcome, its message (the
// error, or the ledger's message) and its job.
func stageEvent(env *Env, p *plan.Plan, stage plan.Stage, stageErr error, ci config.CI) notify.Event {
	ev := notify.Event{Stage: stage, Result: outcome.KindOf(stageErr).String(), JobURL: ci.JobURL, At: env.Now()}
	if r, ok := p.Last(stage); ok {
		if ev.JobURL == "" {
			ev.JobURL = r.JobURL
		}
		ev.Message = r.Message
	}
	if stageErr != nil {
		ev.Message = stageErr.Error()
	}
	return ev
}

// projectRef is how the GitLab API is told the project: its ID, else path.
func projectRef(ci config.CI) string {
	if ci.ProjectID > 0 {
		return strconv.FormatInt(ci.ProjectID, 10)
	}
	return ci.ProjectPath
}
