// Package approve is the approve stage, the body of the manual QA job: the
// user who pressed play is checked against the approval policy, and either
// recorded as the approver of green (plan.Approval and a ledger entry) or
// refused with the rule that refused them. A refused job can be played again
// by someone else.
//
// Every rule is optional: four-eyes (not the commit author, not the
// pipeline's creator), allowed users or groups (inherited membership
// counts), no deploy freeze, green not stale, and a required reason.
package approve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// ErrRefused is wrapped by every refusal (exit 1).
var ErrRefused = errors.New("approval refused")

// Approver is the user who pressed play, as GitLab's predefined variables
// describe them in a manual job.
type Approver struct {
	Login string // GITLAB_USER_LOGIN
	ID    int64  // GITLAB_USER_ID
	Name  string // GITLAB_USER_NAME
	Email string // GITLAB_USER_EMAIL
}

// Policy is the set of rules in force; the zero value checks nothing.
type Policy struct {
	FourEyes      bool
	AllowedUsers  []string // GitLab usernames
	AllowedGroups []string // group full paths
	DenyInFreeze  bool
	MaxAge        time.Duration // 0: green may be any age
	RequireReason bool
}

// Facts are what GitLab says about the pipeline being approved.
type Facts struct {
	CommitAuthor string // CI_COMMIT_AUTHOR: "Name <email>"
	DeployFreeze bool   // CI_DEPLOY_FREEZE
	Project      string // CI_PROJECT_ID (or the project's path)
	PipelineID   int64  // CI_PIPELINE_ID
	JobURL       string // CI_JOB_URL
}

// Pipelines reads a pipeline, for its creator.
type Pipelines interface {
	Pipeline(ctx context.Context, project string, id int64) (gitlab.Pipeline, error)
}

// Members reads a user's membership of a group, inherited included; a
// non-member is an error wrapping gitlab.ErrNotMember.
type Members interface {
	GroupMember(ctx context.Context, group string, userID int64) (gitlab.Member, error)
}

// Stage is one run of the approve job.
type Stage struct {
	Approver  Approver
	Policy    Policy
	Reason    string // given at play time (BG_APPROVAL_REASON)
	Facts     Facts
	Pipelines Pipelines // needed by four-eyes
	Members   Members   // needed by AllowedGroups
	Now       func() time.Time
	Out       io.Writer    // human lines
	Log       *slog.Logger // structured logs
}

// Run checks the approver against the policy and records the decision in
// p: plan.Approval and a ledger entry when approved; a ledger entry, and no
// approval, when refused. It returns an error wrapping ErrRefused (exit 1)
// for a refusal, a usage error for a plan it cannot approve, and an external
// error when GitLab could not answer.
func (s *Stage) Run(ctx context.Context, p *plan.Plan) error {
	start := s.Now()
	if err := checkPlan(p); err != nil {
		return err
	}
	reason := cleanReason(s.Reason)
	results, err := s.evaluate(ctx, p, reason)
	var refused []plan.RuleResult
	for _, r := range results {
		if !r.Passed {
			refused = append(refused, r)
		}
	}
	switch {
	case len(refused) > 0:
		if err != nil {
			s.Log.Warn("a rule could not be checked; the refusal stands", "err", err.Error())
		}
		return s.refuse(p, start, results, refused)
	case err != nil:
		s.record(p, start, outcome.KindOf(err), "approval not decided: "+err.Error(), results, "")
		return fmt.Errorf("approve: %w", err)
	}
	return s.approve(p, start, results, reason)
}

func checkPlan(p *plan.Plan) error {
	if p.Rendered.Digest == "" {
		return outcome.Usagef("approve: the plan has no rendered digest, so there is nothing to approve: run render first")
	}
	return nil
}

// evaluate runs every configured rule. Rules that need GitLab run last; when
// one of them cannot be checked, the error is returned along with the
// results so far, which may already hold a refusal.
func (s *Stage) evaluate(ctx context.Context, p *plan.Plan, reason string) ([]plan.RuleResult, error) {
	var results []plan.RuleResult
	add := func(r plan.RuleResult) {
		results = append(results, r)
		s.print(r)
	}
	if s.Policy.DenyInFreeze {
		add(s.freezeRule())
	}
	if s.Policy.MaxAge > 0 {
		add(s.freshRule(p))
	}
	if s.Policy.RequireReason {
		add(reasonRule(reason))
	}
	if s.Policy.FourEyes {
		r, err := s.fourEyesRule(ctx)
		if err != nil {
			return results, err
		}
		add(r)
	}
	if len(s.Policy.AllowedUsers) > 0 || len(s.Policy.AllowedGroups) > 0 {
		r, err := s.allowedRule(ctx)
		if err != nil {
			return results, err
		}
		add(r)
	}
	return results, nil
}

func (s *Stage) approve(p *plan.Plan, start time.Time, results []plan.RuleResult, reason string) error {
	now := s.Now()
	p.Approval = &plan.Approval{
		Approver: plan.Approver{Login: s.Approver.Login, ID: s.Approver.ID, Name: s.Approver.Name},
		At:       now.UTC(), Digest: p.Rendered.Digest, Reason: reason, Rules: results, JobURL: s.Facts.JobURL,
	}
	msg := fmt.Sprintf("approved by %s", s.Approver.Login)
	s.record(p, start, outcome.OK, msg, results, p.Rendered.Digest)
	s.Log.Info("approved", "approver", s.Approver.Login, "approver_id", s.Approver.ID, "digest", p.Rendered.Digest,
		"rules", len(results), "reason", reason)
	fmt.Fprintf(s.Out, "approve: approved by %s (id %d) for %s, digest %s (%s)\n",
		s.Approver.Login, s.Approver.ID, p.TargetColor, p.Rendered.Digest, since(start, now))
	return nil
}

func (s *Stage) refuse(p *plan.Plan, start time.Time, results, refused []plan.RuleResult) error {
	p.Approval = nil // the newest decision wins: a refused replay withdraws an older approval
	names := make([]string, len(refused))
	for i, r := range refused {
		names[i] = r.Rule
	}
	msg := fmt.Sprintf("refused by %s: %s", strings.Join(names, ", "), refused[0].Detail)
	s.record(p, start, outcome.Negative, msg, results, "")
	s.Log.Info("approval refused", "approver", s.Approver.Login, "approver_id", s.Approver.ID, "rules", strings.Join(names, ","))
	fmt.Fprintf(s.Out, "approve: refused for %s by %s; someone else can play the job again (%s)\n",
		s.Approver.Login, strings.Join(names, ", "), since(start, s.Now()))
	return outcome.Negativef("%w for %s by rule %s: %s", ErrRefused, s.Approver.Login, strings.Join(names, ", "), refused[0].Detail)
}

// record appends the stage's ledger entry.
func (s *Stage) record(p *plan.Plan, start time.Time, kind outcome.Kind, msg string, results []plan.RuleResult, digest string) {
	details := map[string]string{"approver": s.Approver.Login, "approver_id": strconv.FormatInt(s.Approver.ID, 10)}
	for _, r := range results {
		details[r.Rule] = map[bool]string{true: "passed", false: "refused"}[r.Passed]
	}
	if digest != "" {
		details["digest"] = digest
	}
	p.Append(plan.Result{Stage: plan.Approve, Outcome: kind.String(), Message: msg, Started: start.UTC(), Finished: s.Now().UTC(),
		JobURL: s.Facts.JobURL, Details: details})
}

func (s *Stage) print(r plan.RuleResult) {
	verdict := "passed"
	if !r.Passed {
		verdict = "REFUSED"
	}
	fmt.Fprintf(s.Out, "approve: rule %s %s: %s\n", r.Rule, verdict, r.Detail)
}

// cleanReason keeps a reason to one printable line.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func since(start, now time.Time) time.Duration {
	return now.Sub(start).Round(time.Millisecond)
}
