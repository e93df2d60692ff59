package approve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/approve"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

const token = "glpat-APPROVE-TEST-secret"

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var alice = approve.Approver{Login: "alice", ID: 7, Name: "Alice Approver", Email: "alice@example.com"}

// greenPlan is a plan whose green was synced 10 minutes ago.
func greenPlan() *plan.Plan {
	p := &plan.Plan{Schema: 1, App: "checkout", Namespace: "shop", LiveColor: plan.Blue, TargetColor: plan.Green,
		Image:    "registry.example.com/shop/checkout:2b1c0b8f",
		Rendered: plan.Rendered{Digest: "sha256:5f1d0c0ffee"}, Pipeline: plan.Pipeline{ID: 7001}}
	p.Append(plan.Result{Stage: plan.Render, Outcome: "ok", Finished: now.Add(-20 * time.Minute)})
	p.Append(plan.Result{Stage: plan.Sync, Outcome: "ok", Finished: now.Add(-10 * time.Minute)})
	return p
}

func facts() approve.Facts {
	return approve.Facts{CommitAuthor: "Bob Builder <bob@example.com>", Project: "42", PipelineID: 7001,
		JobURL: "https://gitlab.example.com/shop/checkout/-/jobs/9003"}
}

// routes registers what the case expects GitLab to be asked.
type routes func(s *gitlabtest.Server)

func creator(id int64, username string) routes {
	return func(s *gitlabtest.Server) {
		s.Pipeline("42", gitlabtest.Pipeline{ID: 7001, User: &gitlabtest.UserRef{ID: id, Username: username}})
	}
}

func member(group string, m gitlabtest.Member) routes {
	return func(s *gitlabtest.Server) { s.GroupMember(group, m) }
}

func notMember(group string) routes {
	return func(s *gitlabtest.Server) {
		s.NotGroupMember(group, 7)
		s.Group(gitlabtest.Group{ID: 12, FullPath: group})
	}
}

type tcase struct {
	name     string
	policy   approve.Policy
	approver approve.Approver
	facts    func(*approve.Facts)
	plan     func(*plan.Plan)
	reason   string
	gitlab   []routes
	wantKind outcome.Kind
	wantRule string // the rule that refused; or, when approved, a rule that must have passed
	wantText string // in the refusal or pass detail
}

func run(t *testing.T, tc tcase) (*plan.Plan, string, error) {
	t.Helper()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	for _, r := range tc.gitlab {
		r(srv)
	}
	gl, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: token, Retry: gitlab.Retry{
		Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	f := facts()
	if tc.facts != nil {
		tc.facts(&f)
	}
	p := greenPlan()
	if tc.plan != nil {
		tc.plan(p)
	}
	who := tc.approver
	if who.Login == "" {
		who = alice
	}
	var out bytes.Buffer
	s := &approve.Stage{Approver: who, Policy: tc.policy, Reason: tc.reason, Facts: f, Pipelines: gl, Members: gl,
		Now: func() time.Time { return now }, Out: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err = s.Run(context.Background(), p)
	return p, out.String(), err
}

func TestApprove_Rules(t *testing.T) {
	t.Parallel()
	four := approve.Policy{FourEyes: true}
	tests := []tcase{
		{name: "no rules approves", wantKind: outcome.OK},

		{name: "deploy freeze refuses", policy: approve.Policy{DenyInFreeze: true}, facts: func(f *approve.Facts) { f.DeployFreeze = true },
			wantKind: outcome.Negative, wantRule: approve.RuleDeployFreeze, wantText: "deploy freeze is in force"},
		{name: "no deploy freeze passes", policy: approve.Policy{DenyInFreeze: true},
			wantKind: outcome.OK, wantRule: approve.RuleDeployFreeze, wantText: "no deploy freeze"},
		{name: "freeze ignored when the rule is off", facts: func(f *approve.Facts) { f.DeployFreeze = true }, wantKind: outcome.OK},

		{name: "fresh green passes", policy: approve.Policy{MaxAge: time.Hour},
			wantKind: outcome.OK, wantRule: approve.RuleFreshGreen, wantText: "green was synced 10m0s ago (limit 1h0m0s)"},
		{name: "stale green refuses", policy: approve.Policy{MaxAge: 5 * time.Minute},
			wantKind: outcome.Negative, wantRule: approve.RuleFreshGreen, wantText: "green was last synced 10m0s ago, more than --max-age 5m0s: run sync again first"},
		{name: "a recent verify keeps an old sync fresh", policy: approve.Policy{MaxAge: 5 * time.Minute},
			plan: func(p *plan.Plan) {
				p.Append(plan.Result{Stage: "verify", Outcome: "ok", Finished: now.Add(-2 * time.Minute)})
			}, wantKind: outcome.OK, wantRule: approve.RuleFreshGreen, wantText: "green was verified 2m0s ago"},
		{name: "a failed sync does not count as fresh", policy: approve.Policy{MaxAge: 5 * time.Minute},
			plan: func(p *plan.Plan) {
				p.Append(plan.Result{Stage: plan.Sync, Outcome: "external", Finished: now.Add(-time.Minute)})
			}, wantKind: outcome.Negative, wantRule: approve.RuleFreshGreen, wantText: "10m0s ago"},
		{name: "never synced refuses", policy: approve.Policy{MaxAge: time.Hour},
			plan:     func(p *plan.Plan) { p.Ledger = p.Ledger[:1] },
			wantKind: outcome.Negative, wantRule: approve.RuleFreshGreen, wantText: "never synced or verified"},

		{name: "missing reason refuses", policy: approve.Policy{RequireReason: true}, reason: " \t",
			wantKind: outcome.Negative, wantRule: approve.RuleReason, wantText: "BG_APPROVAL_REASON"},
		{name: "given reason passes", policy: approve.Policy{RequireReason: true}, reason: "QA passed",
			wantKind: outcome.OK, wantRule: approve.RuleReason},

		{name: "four-eyes refuses the commit author by email", policy: four,
			facts:    func(f *approve.Facts) { f.CommitAuthor = "A. Approver <ALICE@example.com>" },
			wantKind: outcome.Negative, wantRule: approve.RuleFourEyes, wantText: "alice authored the commit"},
		{name: "four-eyes refuses the commit author by no-reply email", policy: four,
			facts:    func(f *approve.Facts) { f.CommitAuthor = "ally <7-alice@users.noreply.gitlab.example.com>" },
			wantKind: outcome.Negative, wantRule: approve.RuleFourEyes, wantText: "alice authored the commit"},
		{name: "four-eyes refuses the commit author by name", policy: four,
			facts:    func(f *approve.Facts) { f.CommitAuthor = "alice  approver <alice@home.example>" },
			wantKind: outcome.Negative, wantRule: approve.RuleFourEyes, wantText: "authored the commit"},
		{name: "four-eyes refuses the pipeline creator", policy: four, gitlab: []routes{creator(7, "alice")},
			wantKind: outcome.Negative, wantRule: approve.RuleFourEyes, wantText: "alice created pipeline 7001"},
		{name: "four-eyes passes someone else", policy: four, gitlab: []routes{creator(3, "carol")},
			wantKind: outcome.OK, wantRule: approve.RuleFourEyes, wantText: "neither the commit author (Bob Builder) nor the pipeline creator (carol)"},
		{name: "four-eyes refuses an unknown creator", policy: four, gitlab: []routes{func(s *gitlabtest.Server) {
			s.Pipeline("42", gitlabtest.Pipeline{ID: 7001})
		}}, wantKind: outcome.Negative, wantRule: approve.RuleFourEyes, wantText: "cannot be proven"},
		{name: "four-eyes with GitLab down is external", policy: four, gitlab: []routes{func(s *gitlabtest.Server) {
			s.Handle("GET /projects/{p}/pipelines/{id}", gitlabtest.Error(502, ""))
		}}, wantKind: outcome.External},
		{name: "four-eyes with a token lacking read_api is a configuration error", policy: four, gitlab: []routes{func(s *gitlabtest.Server) {
			s.Handle("GET /projects/{p}/pipelines/{id}", gitlabtest.Error(403, "403 Forbidden - insufficient_scope"))
		}}, wantKind: outcome.Usage},

		{name: "listed user passes without asking GitLab", policy: approve.Policy{AllowedUsers: []string{"bob", "@Alice"}, AllowedGroups: []string{"shop/release"}},
			wantKind: outcome.OK, wantRule: approve.RuleAllowedApprovers, wantText: "listed in BG_APPROVAL_USERS"},
		{name: "inherited group member passes", policy: approve.Policy{AllowedGroups: []string{"shop/release", "platform/sre"}},
			gitlab:   []routes{notMember("shop/release"), member("platform/sre", gitlabtest.Member{ID: 7, Username: "alice", AccessLevel: 20})},
			wantKind: outcome.OK, wantRule: approve.RuleAllowedApprovers, wantText: "alice is a member of platform/sre (Reporter)"},
		{name: "non-member refuses", policy: approve.Policy{AllowedUsers: []string{"bob"}, AllowedGroups: []string{"shop/release"}},
			gitlab:   []routes{notMember("shop/release")},
			wantKind: outcome.Negative, wantRule: approve.RuleAllowedApprovers, wantText: "alice is not listed in BG_APPROVAL_USERS nor an active member of shop/release"},
		{name: "blocked membership refuses", policy: approve.Policy{AllowedGroups: []string{"shop/release"}},
			gitlab:   []routes{member("shop/release", gitlabtest.Member{ID: 7, Username: "alice", State: "blocked", AccessLevel: 40})},
			wantKind: outcome.Negative, wantRule: approve.RuleAllowedApprovers, wantText: "does not count (blocked, Maintainer)"},
		{name: "minimal access refuses", policy: approve.Policy{AllowedGroups: []string{"shop/release"}},
			gitlab:   []routes{member("shop/release", gitlabtest.Member{ID: 7, Username: "alice", AccessLevel: 5})},
			wantKind: outcome.Negative, wantRule: approve.RuleAllowedApprovers, wantText: "Minimal Access"},
		{name: "unknown group is a configuration error", policy: approve.Policy{AllowedGroups: []string{"shop/typo"}},
			gitlab:   []routes{func(s *gitlabtest.Server) { s.NotGroupMember("shop/typo", 7); s.NoGroup("shop/typo") }},
			wantKind: outcome.Usage},

		{name: "a refusal stands when another rule cannot be checked", policy: approve.Policy{DenyInFreeze: true, FourEyes: true},
			facts: func(f *approve.Facts) { f.DeployFreeze = true },
			gitlab: []routes{func(s *gitlabtest.Server) {
				s.Handle("GET /projects/{p}/pipelines/{id}", gitlabtest.Error(503, ""))
			}}, wantKind: outcome.Negative, wantRule: approve.RuleDeployFreeze},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, out, err := run(t, tc)
			if k := outcome.KindOf(err); k != tc.wantKind {
				t.Fatalf("kind = %v (%v), want %v", k, err, tc.wantKind)
			}
			last := p.Ledger[len(p.Ledger)-1]
			if last.Stage != "approve" || last.Outcome != tc.wantKind.String() || last.Details["approver"] != "alice" || last.Details["approver_id"] != "7" {
				t.Errorf("ledger entry = %+v", last)
			}
			if last.JobURL != facts().JobURL || !last.Finished.Equal(now) {
				t.Errorf("ledger entry job %q at %v", last.JobURL, last.Finished)
			}
			switch tc.wantKind {
			case outcome.OK:
				a := p.Approval
				if a == nil || a.Approver.Login != "alice" || a.Approver.ID != 7 || a.Approver.Name != "Alice Approver" ||
					a.Digest != "sha256:5f1d0c0ffee" || !a.At.Equal(now) || a.JobURL != facts().JobURL {
					t.Fatalf("approval = %+v", a)
				}
				if last.Details["digest"] != a.Digest || !strings.Contains(out, "approve: approved by alice (id 7) for green") {
					t.Errorf("details %v, out %q", last.Details, out)
				}
				if tc.wantRule != "" {
					r := findRule(a.Rules, tc.wantRule)
					if r == nil || !r.Passed || !strings.Contains(r.Detail, tc.wantText) || last.Details[tc.wantRule] != "passed" {
						t.Errorf("rule %s = %+v, want passed with %q", tc.wantRule, r, tc.wantText)
					}
				}
			case outcome.Negative:
				if !errors.Is(err, approve.ErrRefused) || !strings.Contains(err.Error(), "rule "+tc.wantRule) || !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("err = %v, want a refusal by %s with %q", err, tc.wantRule, tc.wantText)
				}
				if p.Approval != nil || last.Details[tc.wantRule] != "refused" {
					t.Errorf("approval = %+v, details %v", p.Approval, last.Details)
				}
				if !strings.Contains(out, "rule "+tc.wantRule+" REFUSED") || !strings.Contains(out, "someone else can play the job again") {
					t.Errorf("out = %q", out)
				}
			default:
				if p.Approval != nil || errors.Is(err, approve.ErrRefused) {
					t.Errorf("approval = %+v, err %v", p.Approval, err)
				}
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error carries the token: %v", err)
			}
		})
	}
}

func findRule(rs []plan.RuleResult, name string) *plan.RuleResult {
	for i := range rs {
		if rs[i].Rule == name {
			return &rs[i]
		}
	}
	return nil
}

func TestApprove_RecordsCleanReason(t *testing.T) {
	t.Parallel()
	p, _, err := run(t, tcase{name: "reason", reason: "QA passed\n\tcheckout\x00 flows   ok"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Approval.Reason != "QA passed checkout flows ok" {
		t.Errorf("reason = %q", p.Approval.Reason)
	}
}

func TestApprove_RefusedReplayWithdrawsEarlierApproval(t *testing.T) {
	t.Parallel()
	p, _, err := run(t, tcase{name: "replay", policy: approve.Policy{DenyInFreeze: true},
		facts: func(f *approve.Facts) { f.DeployFreeze = true },
		plan: func(p *plan.Plan) {
			p.Approval = &plan.Approval{Approver: plan.Approver{Login: "bob", ID: 8}, Digest: p.Rendered.Digest}
		}})
	if !errors.Is(err, approve.ErrRefused) || p.Approval != nil {
		t.Errorf("err = %v, approval = %+v; want refused and withdrawn", err, p.Approval)
	}
}

func TestApprove_PlanWithoutDigestIsUsageError(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, tcase{name: "no digest", plan: func(p *plan.Plan) { p.Rendered.Digest = "" }})
	if outcome.KindOf(err) != outcome.Usage {
		t.Errorf("err = %v, want usage", err)
	}
}

func TestApprove_GitLabAskedOnlyWhatThePolicyNeeds(t *testing.T) {
	t.Parallel()
	// Commit author refusal happens before any API call: the fake fails the
	// test on any request, and here none is registered.
	_, _, err := run(t, tcase{name: "author", policy: approve.Policy{FourEyes: true},
		facts: func(f *approve.Facts) { f.CommitAuthor = "Alice <alice@example.com>" }})
	if !errors.Is(err, approve.ErrRefused) {
		t.Errorf("err = %v", err)
	}
}
