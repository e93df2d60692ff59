package drift

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
)

const glToken = "glpat-drift-unit-0123456789"

var (
	imageDrift = Finding{Severity: Dangerous, Class: "image", Object: "Deployment/shop-green", Path: "spec.template.spec.containers[name=web].image", Message: "image differs from git", Git: "shop:2", Live: "shop:hotfix"}
	envDrift   = Finding{Severity: Dangerous, Class: "env", Object: "Deployment/shop-green", Path: "spec.template.spec.containers[name=web].env[name=DEBUG]", Message: "env set in the cluster, not in git"}
	defaults   = Finding{Severity: Benign, Class: "defaults", Object: "Deployment/shop-green", Message: "11 field(s) only the cluster has"}
)

// reportOf is a finished report of app shop whose git-vs-live check found fs.
func reportOf(err error, fs ...Finding) *Report {
	r := &Report{Environment: "production", Namespace: "shop", CheckedAt: t0, Apps: []AppReport{{App: "shop", Live: "green", GitOpsPath: "production/shop", Checks: []Check{
		{Name: CheckGit, Summary: "git and the cluster agree", Findings: fs, err: err},
		{Name: CheckActive, Summary: "the active Service selects the recorded colour"},
	}}}}
	r.finish()
	return r
}

func issueStage(t *testing.T, srv *gitlabtest.Server) (*Stage, *bytes.Buffer) {
	t.Helper()
	c, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(glToken), Retry: gitlab.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	return &Stage{
		Environment: "production", Namespace: "shop", JobURL: "https://gitlab.example.com/shop/-/jobs/9",
		Issues: c, IssuesProject: "platform/shop", IssueLabel: "bluegreen-drift",
		Out: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: func() time.Time { return t0 },
	}, &out
}

func TestKeepIssue_OneIssuePerEnvironmentThroughItsLife(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(glToken))
	fake := srv.Issues("platform/shop", gitlabtest.IssueCreate, gitlabtest.IssueEdit, gitlabtest.IssueNote)
	// Another environment's issue and a hand-made one with the label:
	// neither is this environment's.
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production-eu", Labels: []string{"bluegreen-drift"},
		Description: `<!-- bluegreen-drift environment="production-eu" fingerprint="sha256:00" -->`})
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production (notes)", Labels: []string{"bluegreen-drift"}, Description: "made by hand"})
	s, out := issueStage(t, srv)
	ctx := context.Background()

	steps := []struct {
		name       string
		r          *Report
		wantAction string
		wantPrev   lastState
	}{
		{"clean, no issue yet", reportOf(nil, defaults), "", lastState{known: true}},
		{"drift appears", reportOf(nil, imageDrift, defaults), "created", lastState{known: true}},
		{"the same drift", reportOf(nil, imageDrift, defaults), "unchanged", lastState{known: true, drift: true, fingerprint: reportOf(nil, imageDrift).Fingerprint}},
		{"more drift", reportOf(nil, imageDrift, envDrift), "updated", lastState{known: true, drift: true, fingerprint: reportOf(nil, imageDrift).Fingerprint}},
		{"clean but incomplete: the issue stays", reportOf(errors.New("gitlab unreachable")), "unchanged", lastState{known: true, drift: true, fingerprint: reportOf(nil, imageDrift, envDrift).Fingerprint}},
		{"clean", reportOf(nil, defaults), "closed", lastState{known: true, drift: true, fingerprint: reportOf(nil, imageDrift, envDrift).Fingerprint}},
		{"drift is back", reportOf(nil, envDrift), "reopened", lastState{known: true}},
	}
	for _, st := range steps {
		prev, err := s.keepIssue(ctx, st.r)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := ""
		if st.r.Issue != nil {
			got = st.r.Issue.Action
		}
		if got != st.wantAction || prev != st.wantPrev {
			t.Errorf("%s: action %q, previous state %+v; want %q, %+v", st.name, got, prev, st.wantAction, st.wantPrev)
		}
	}
	all := fake.All()
	if len(all) != 3 {
		t.Fatalf("%d issues, want the two seeded and one for production", len(all))
	}
	is := all[2]
	if is.Title != "bluegreen drift: production" || is.State != "opened" || is.Labels[0] != "bluegreen-drift" {
		t.Errorf("issue = %+v", is)
	}
	if is.Edits != 3 { // updated, closed, reopened
		t.Errorf("edits = %d, want 3", is.Edits)
	}
	wantNotes := []string{"The drift changed.", "The drift cleared", "Drift is back."}
	if len(is.Notes) != len(wantNotes) {
		t.Fatalf("notes = %q", is.Notes)
	}
	for i, w := range wantNotes {
		if !strings.HasPrefix(is.Notes[i], w) || !strings.Contains(is.Notes[i], "/-/jobs/9") {
			t.Errorf("note %d = %q, want %q… with the job link", i, is.Notes[i], w)
		}
	}
	if !strings.Contains(is.Notes[0], "New: **git-vs-live**: Deployment/shop-green spec.template.spec.containers[name=web].env[name=DEBUG]") {
		t.Errorf("the update note does not name the new finding: %q", is.Notes[0])
	}
	if !strings.Contains(is.Notes[2], "New: **git-vs-live**") {
		t.Errorf("the reopen note does not list the drift: %q", is.Notes[2])
	}
	if strings.Contains(is.Description, "jobs/9") || strings.Contains(is.Description, "2026") {
		t.Errorf("the description holds a time or job link, so it would change every run:\n%s", is.Description)
	}
	if !strings.Contains(out.String(), "issue #3 reopened") {
		t.Errorf("log = %s", out.String())
	}
}

func TestKeepIssue_UsesTheOldestOfSeveralOpenIssues(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(glToken))
	fake := srv.Issues("platform/shop")
	r := reportOf(nil, imageDrift)
	desc := func() string {
		s, _ := issueStage(t, srv)
		return s.describe(r)
	}()
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production", Labels: []string{"bluegreen-drift"}, Description: desc})
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production", Labels: []string{"bluegreen-drift"}, Description: desc})
	s, _ := issueStage(t, srv)
	if _, err := s.keepIssue(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if r.Issue == nil || r.Issue.IID != 1 || r.Issue.Action != "unchanged" {
		t.Errorf("issue = %+v, want #1 unchanged (and no new one)", r.Issue)
	}
}

func TestKeepIssue_AdoptsTheIssueWhoseMarkerWasEditedAway(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(glToken))
	fake := srv.Issues("platform/shop", gitlabtest.IssueEdit, gitlabtest.IssueNote)
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production", Labels: []string{"bluegreen-drift"}, Description: "edited by hand"})
	s, _ := issueStage(t, srv)
	r := reportOf(nil, imageDrift)
	if _, err := s.keepIssue(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if all := fake.All(); len(all) != 1 || r.Issue == nil || r.Issue.Action != "updated" || !marker.MatchString(all[0].Description) {
		t.Errorf("issue %+v, all %+v: want the one issue updated, with its marker back", r.Issue, all)
	}
}

// A token below Reporter creates the issue without its label (GitLab
// answers 201 all the same); the next run finds that issue by its title,
// keeps it, and says again what the token lacks, instead of opening another.
func TestKeepIssue_ATokenThatCannotLabelFindsItsIssueByTitle(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(glToken))
	fake := srv.Issues("platform/shop", gitlabtest.IssueCreate, gitlabtest.IssueEdit, gitlabtest.IssueNote)
	fake.TokenRole = gitlabtest.Guest
	s, out := issueStage(t, srv)
	if _, err := s.keepIssue(context.Background(), reportOf(nil, imageDrift)); err == nil || !strings.Contains(err.Error(), "Reporter") {
		t.Fatalf("first run: err = %v, want the role named", err)
	}
	r := reportOf(nil, imageDrift, envDrift)
	prev, err := s.keepIssue(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if all := fake.All(); len(all) != 1 || r.Issue == nil || r.Issue.IID != 1 || r.Issue.Action != "updated" {
		t.Fatalf("second run: issue %+v, %d issues; want #1 updated and no other", r.Issue, len(all))
	}
	if !prev.drift {
		t.Errorf("prev = %+v: the first run's drift is not remembered", prev)
	}
	if !strings.Contains(out.String(), `issue #1 has no label "bluegreen-drift"`) || !strings.Contains(out.String(), "Reporter") {
		t.Errorf("log does not say what the token lacks:\n%s", out)
	}
}

// recorder is an Announcer that keeps what it was told.
type recorder struct{ got []Announcement }

func (r *recorder) Announce(_ context.Context, a Announcement) error {
	r.got = append(r.got, a)
	return nil
}

func TestAnnounce_OnlyWhenTheStateChanges(t *testing.T) {
	t.Parallel()
	img := reportOf(nil, imageDrift)
	tests := []struct {
		name string
		prev lastState
		r    *Report
		want string // the title, or "" for no message
	}{
		{"clean stays clean", lastState{known: true}, reportOf(nil, defaults), ""},
		{"drift appears", lastState{known: true}, reportOf(nil, imageDrift), "Drift in production: 1 dangerous"},
		{"the same drift", lastState{known: true, drift: true, fingerprint: img.Fingerprint}, reportOf(nil, imageDrift), ""},
		{"the same drift, another message", lastState{known: true, drift: true, fingerprint: img.Fingerprint},
			reportOf(nil, Finding{Severity: Dangerous, Class: "image", Object: imageDrift.Object, Path: imageDrift.Path, Message: "other words"}), ""},
		{"other drift", lastState{known: true, drift: true, fingerprint: img.Fingerprint}, reportOf(nil, envDrift), "Drift in production changed"},
		{"drift clears", lastState{known: true, drift: true, fingerprint: img.Fingerprint}, reportOf(nil), "Drift in production cleared"},
		{"incomplete and clean: unknown", lastState{known: true, drift: true, fingerprint: img.Fingerprint}, reportOf(errors.New("down")), ""},
		{"no issue to remember: every drift is told", lastState{}, reportOf(nil, imageDrift), "Drift in production: 1 dangerous"},
		{"no issue to remember, clean: nothing", lastState{}, reportOf(nil), ""},
	}
	for _, tt := range tests {
		rec := &recorder{}
		s := &Stage{Environment: "production", Announcer: rec, Out: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s.announce(context.Background(), tt.r, tt.prev)
		got := ""
		if len(rec.got) == 1 {
			got = rec.got[0].Title
		}
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) || tt.r.Announced != (got != "") {
			t.Errorf("%s: told %q, want %q", tt.name, got, tt.want)
		}
	}
}
