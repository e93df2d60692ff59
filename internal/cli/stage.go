package cli

import (
	"context"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// finish ends every mode that works on a plan the same way: a stage that
// failed without saying so in the ledger gets an entry there (a stage
// records its own results), the plan is saved so that the record is on disk
// before Slack is asked, Slack is told, and the plan is saved again with the
// thread. The stage's error wins over an error saving the plan.
func finish(ctx context.Context, env *Env, log *slog.Logger, n config.Notify, ci config.CI, dir string, p *plan.Plan, stage string, start time.Time, stageErr error) error {
	if stageErr != nil {
		if r, ok := p.Last(stage); !ok || r.Started.Before(start.UTC()) {
			p.Append(plan.Result{
				Stage: stage, Outcome: outcome.KindOf(stageErr).String(), Message: stageErr.Error(),
				Started: start.UTC(), Finished: env.Now().UTC(), JobURL: ci.JobURL,
			})
		}
	}
	saveErr := p.Save(dir)
	notifyStage(ctx, env, log, n, ci, p, stage, stageErr)
	if err := p.Save(dir); err != nil && saveErr == nil {
		saveErr = err
	}
	if saveErr != nil {
		saveErr = outcome.Externalf("save plan: %w", saveErr)
	}
	return firstErr(stageErr, saveErr)
}
