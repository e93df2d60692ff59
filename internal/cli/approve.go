package cli

import (
	"context"
	"log/slog"

	"gitlab.com/platform/bluegreen/internal/approve"
	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func approveCommand() *command {
	return &command{
		name:    "approve",
		summary: "check who pressed play against the approval policy, and record the approval",
		about: `The body of the manual QA job. The approver is the user who pressed play
(GITLAB_USER_LOGIN, GITLAB_USER_ID). Each policy rule is optional:
--four-eyes (not the commit author, not the pipeline's creator),
--allowed-users and --allowed-groups (inherited group membership counts),
--deny-in-freeze (on by default: refuse during a GitLab deploy freeze), and
--max-age (green synced or verified too long ago must be re-checked first).
A reason can be given as BG_APPROVAL_REASON in the job's variables when
pressing play; --require-reason makes it mandatory.

Approved: <out>/plan.json gets the approval (who, when, every rule, the reason,
green's digest). Refused: exit 1 naming the rule; anyone else can play the job
again. Exit 3 when GitLab could not be asked.

Tokens: BG_GITLAB_TOKEN (read_api, Reporter) only with --four-eyes or
--allowed-groups; see internal/approve/README.md. Slack: BG_SLACK_TOKEN
(chat:write) or BG_SLACK_WEBHOOK_URL; a Slack failure never changes the exit code.`,
		newConfig: func() validator { return &config.Approve{} },
		run:       runApprove,
	}
}

func runApprove(ctx context.Context, env *Env, log *slog.Logger, c any) error {
	cfg := c.(*config.Approve)
	if err := checkNotify(cfg.Notify); err != nil {
		return err
	}
	p, err := loadPlan(cfg.OutDir, cfg.Common)
	if err != nil {
		return err
	}
	stage := &approve.Stage{
		Approver: approve.Approver{Login: cfg.CI.UserLogin, ID: cfg.CI.UserID, Name: cfg.ApproverName, Email: cfg.ApproverEmail},
		Policy: approve.Policy{
			FourEyes: cfg.FourEyes, AllowedUsers: cfg.AllowedUsers, AllowedGroups: cfg.AllowedGroups,
			DenyInFreeze: cfg.DenyInFreeze, MaxAge: cfg.MaxAge, RequireReason: cfg.RequireReason,
		},
		Reason: cfg.Reason,
		Facts: approve.Facts{
			CommitAuthor: cfg.CI.CommitAuthor, DeployFreeze: cfg.CI.DeployFreeze,
			Project: projectRef(cfg.CI), PipelineID: cfg.CI.PipelineID, JobURL: cfg.CI.JobURL,
		},
		Now: env.Now, Out: env.Stdout, Log: log,
	}
	if cfg.NeedsGitLab() {
		gl, err := newClients("", cfg.GitLab, cfg.CI, log).GitLab()
		if err != nil {
			return err
		}
		stage.Pipelines, stage.Members = gl, gl
	}
	rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, plan.Approve)
	return rec.finish(ctx, stage.Run(ctx, p))
}
