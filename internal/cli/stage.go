package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// record is one mode's run on a plan, and the one writer of its plan.json:
// save at the checkpoints crash safety needs (after a commit, so that a
// killed job's re-run finds the revision), finish once at the end.
type record struct {
	env    *Env
	log    *slog.Logger
	notify config.Notify
	ci     config.CI
	dir    string     // where plan.json is
	plan   *plan.Plan // the plan the mode works on
	stage  plan.Stage // the mode's ledger name
	start  time.Time
	// clients are the mode's, when it has them: Slack's messages link the
	// approve job, found through the same GitLab client.
	clients *clients
}

// newRecord starts the record of a mode's run on p, now.
func newRecord(env *Env, log *slog.Logger, n config.Notify, ci config.CI, dir string, p *plan.Plan, stage plan.Stage) *record {
	return &record{env: env, log: log, notify: n, ci: ci, dir: dir, plan: p, stage: stage, start: env.Now()}
}

// save writes plan.json now, atomically. A path the job's settings make
// unwritable (a name too long, a folder that is a file) is a usage error;
// any other failure to write is external.
func (r *record) save() error {
	if err := r.plan.Save(r.dir); err != nil {
		return outcome.Local(fmt.Errorf("save plan: %w", err))
	}
	return nil
}

// finish ends the run: a stage that failed without saying so in the ledger
// gets an entry there (a stage records its own results, and the message is
// masked), Slack is told in the deployment's thread, and the plan is saved
// with the thread and the delivery. When Slack is to be told, the plan is
// saved first too, so that the record is on disk however long Slack takes.
// The stage's error wins over an error saving the plan.
//
// A usage error (exit 2) ends the run with none of that: it promises that
// nothing was changed, plan.json and the channel included, and bad input is
// not news for the channel.
func (r *record) finish(ctx context.Context, stageErr error) error {
	if outcome.KindOf(stageErr) == outcome.Usage {
		return stageErr
	}
	p := r.plan
	if stageErr != nil {
		if last, ok := p.Last(r.stage); !ok || last.Started.Before(r.start.UTC()) {
			p.Append(plan.Result{
				Stage: r.stage, Outcome: outcome.KindOf(stageErr).String(), Message: r.env.scrubText(stageErr.Error()),
				Started: r.start.UTC(), Finished: r.env.Now().UTC(), JobURL: r.ci.JobURL,
			})
		}
	}
	var saveErr error
	if r.notify.SlackEnabled() {
		saveErr = r.save()
		cl := r.clients
		if cl == nil {
			cl = newClients("", r.notify.GitLab, r.ci, r.log)
		}
		notifyStage(ctx, r.env, r.log, r.notify, r.ci, cl, p, r.stage, stageErr)
	}
	if err := r.save(); err != nil && saveErr == nil {
		saveErr = err
	}
	return firstErr(stageErr, saveErr)
}

// firstErr returns the stage's error, else the error saving its record.
func firstErr(stageErr, saveErr error) error {
	switch {
	case saveErr == nil:
		return stageErr
	case stageErr == nil:
		return saveErr
	}
	return errors.Join(stageErr, saveErr)
}
