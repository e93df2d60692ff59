package approve

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Rule names, as plan.RuleResult.Rule and ledger details record them.
const (
	RuleDeployFreeze     = "deploy-freeze"
	RuleFreshGreen       = "fresh-green"
	RuleReason           = "reason"
	RuleFourEyes         = "four-eyes"
	RuleAllowedApprovers = "allowed-approvers"
)

func pass(rule, format string, a ...any) plan.RuleResult {
	return plan.RuleResult{Rule: rule, Passed: true, Detail: fmt.Sprintf(format, a...)}
}

func refuse(rule, format string, a ...any) plan.RuleResult {
	return plan.RuleResult{Rule: rule, Passed: false, Detail: fmt.Sprintf(format, a...)}
}

// freezeRule: GitLab sets CI_DEPLOY_FREEZE during a deploy freeze period.
func (s *Stage) freezeRule() plan.RuleResult {
	if s.Facts.DeployFreeze {
		return refuse(RuleDeployFreeze, "a deploy freeze is in force (CI_DEPLOY_FREEZE); approve after it ends")
	}
	return pass(RuleDeployFreeze, "no deploy freeze is in force")
}

// freshRule: green must have been synced or verified recently, so that what
// QA tested is what gets approved.
func (s *Stage) freshRule(p *plan.Plan) plan.RuleResult {
	var last *plan.Result
	for i := range p.Ledger {
		r := &p.Ledger[i]
		if (r.Stage == plan.Sync || r.Stage == plan.Verify) && r.Outcome == "ok" && (last == nil || r.Finished.After(last.Finished)) {
			last = r
		}
	}
	if last == nil {
		return refuse(RuleFreshGreen, "%s was never synced or verified in this plan: run sync first", p.TargetColor)
	}
	age := s.Now().Sub(last.Finished)
	limit := s.Policy.MaxAge
	if age > limit {
		return refuse(RuleFreshGreen, "%s was last %s %s ago, more than --max-age %s: run %s again first",
			p.TargetColor, pastTense(last.Stage), round(age), limit, last.Stage)
	}
	return pass(RuleFreshGreen, "%s was %s %s ago (limit %s)", p.TargetColor, pastTense(last.Stage), round(age), limit)
}

func pastTense(stage plan.Stage) string {
	if stage == plan.Verify {
		return "verified"
	}
	return "synced"
}

func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}

func reasonRule(reason string) plan.RuleResult {
	if reason == "" {
		return refuse(RuleReason, "no reason given: set BG_APPROVAL_REASON in the variables when pressing play")
	}
	return pass(RuleReason, "a reason was given")
}

// fourEyesRule: the approver is neither the commit's author (matched on
// email, GitLab's no-reply address, or name) nor the pipeline's creator
// (from the Pipelines API: GitLab has no predefined variable for it in a
// manual job, where GITLAB_USER_* describe whoever pressed play).
func (s *Stage) fourEyesRule(ctx context.Context) (plan.RuleResult, error) {
	if s.Pipelines == nil {
		return plan.RuleResult{}, errors.New("four-eyes: no GitLab client to read the pipeline's creator")
	}
	if s.isCommitAuthor() {
		name, _ := parseAuthor(s.Facts.CommitAuthor)
		return refuse(RuleFourEyes, "%s authored the commit (%s); someone else must approve", s.Approver.Login, orDefault(name, "by email")), nil
	}
	pl, err := s.Pipelines.Pipeline(ctx, s.Facts.Project, s.Facts.PipelineID)
	if err != nil {
		return plan.RuleResult{}, fmt.Errorf("four-eyes: %w", err)
	}
	if pl.Creator == nil {
		return refuse(RuleFourEyes, "GitLab does not say who created pipeline %d, so four-eyes cannot be proven", pl.ID), nil
	}
	if pl.Creator.ID == s.Approver.ID {
		return refuse(RuleFourEyes, "%s created pipeline %d; someone else must approve", s.Approver.Login, pl.ID), nil
	}
	name, _ := parseAuthor(s.Facts.CommitAuthor)
	return pass(RuleFourEyes, "%s is neither the commit author (%s) nor the pipeline creator (%s)",
		s.Approver.Login, orDefault(name, "unnamed"), pl.Creator.Username), nil
}

func (s *Stage) isCommitAuthor() bool {
	name, email := parseAuthor(s.Facts.CommitAuthor)
	if email != "" {
		if s.Approver.Email != "" && strings.EqualFold(email, s.Approver.Email) {
			return true
		}
		// GitLab's private commit email: <id>-<username>@users.noreply.<host>
		// (older: <username>@users.noreply.<host>).
		local, domain, _ := strings.Cut(strings.ToLower(email), "@")
		if strings.HasPrefix(domain, "users.noreply.") {
			login := strings.ToLower(s.Approver.Login)
			if local == login || local == strconv.FormatInt(s.Approver.ID, 10)+"-"+login {
				return true
			}
		}
	}
	// A name match refuses too: a false refusal costs someone else pressing
	// play; a false pass would defeat the rule.
	return name != "" && normName(name) == normName(s.Approver.Name)
}

// parseAuthor splits CI_COMMIT_AUTHOR, "Name <email>".
func parseAuthor(s string) (name, email string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "<"); i >= 0 && strings.HasSuffix(s, ">") {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1 : len(s)-1])
	}
	if strings.Contains(s, "@") {
		return "", s
	}
	return s, ""
}

func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// allowedRule: the approver is listed by username, or is an active member
// (Guest or more, inherited or through a shared group) of an allowed group.
func (s *Stage) allowedRule(ctx context.Context) (plan.RuleResult, error) {
	for _, u := range s.Policy.AllowedUsers {
		if strings.EqualFold(strings.TrimPrefix(u, "@"), s.Approver.Login) {
			return pass(RuleAllowedApprovers, "%s is listed in BG_APPROVAL_USERS", s.Approver.Login), nil
		}
	}
	var notes []string
	for _, g := range s.Policy.AllowedGroups {
		if s.Members == nil {
			return plan.RuleResult{}, errors.New("allowed groups: no GitLab client to read group membership")
		}
		m, err := s.Members.GroupMember(ctx, g, s.Approver.ID)
		switch {
		case errors.Is(err, gitlab.ErrNotMember):
			continue
		case err != nil:
			return plan.RuleResult{}, fmt.Errorf("allowed groups: %w", err)
		case m.Active():
			return pass(RuleAllowedApprovers, "%s is a member of %s (%s)", s.Approver.Login, g, accessName(m.AccessLevel)), nil
		default:
			notes = append(notes, fmt.Sprintf("%s membership in %s does not count (%s, %s)", s.Approver.Login, g, m.State, accessName(m.AccessLevel)))
		}
	}
	where := []string{}
	if len(s.Policy.AllowedUsers) > 0 {
		where = append(where, "listed in BG_APPROVAL_USERS")
	}
	if len(s.Policy.AllowedGroups) > 0 {
		where = append(where, "an active member of "+strings.Join(s.Policy.AllowedGroups, ", "))
	}
	detail := fmt.Sprintf("%s is not %s", s.Approver.Login, strings.Join(where, " nor "))
	if len(notes) > 0 {
		detail += "; " + strings.Join(notes, "; ")
	}
	return refuse(RuleAllowedApprovers, "%s", detail), nil
}

func accessName(level int) string {
	switch {
	case level >= gitlab.AccessOwner:
		return "Owner"
	case level >= gitlab.AccessMaintainer:
		return "Maintainer"
	case level >= gitlab.AccessDeveloper:
		return "Developer"
	case level >= gitlab.AccessReporter:
		return "Reporter"
	case level >= gitlab.AccessPlanner:
		return "Planner"
	case level >= gitlab.AccessGuest:
		return "Guest"
	}
	return "Minimal Access"
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
